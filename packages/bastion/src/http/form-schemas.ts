// The CSRF token an HTML form posts beside its fields (packages/bastion/src/views/partials/csrf-field.eta prints
// it). The CSRF layer reads and checks it before validation; a form's body schema only has to
// let it through, bounded like every other string.

export const csrfField = { type: 'string', maxLength: 128 } as const;

/** A form that sends nothing but its CSRF token (a delete or hide button). */
export const buttonForm = { type: 'object', additionalProperties: false, properties: { _csrf: csrfField } } as const;

/** A closed form body: the given fields, each of which must bound itself, and the CSRF token. */
export function formBody<const P extends Record<string, object>, const R extends readonly (keyof P & string)[]>(
  properties: P,
  required: R,
) {
  return { type: 'object', additionalProperties: false, required, properties: { ...properties, _csrf: csrfField } } as const;
}
