// Passkeys in the browser: the one feature of the site that needs JavaScript. Each form marked
// data-passkey stays hidden (and every other page works) until this script finds WebAuthn; then
// it is shown, and submitting it runs the ceremony instead of posting the form:
//   register: POST <action>/options → navigator.credentials.create → POST <action>
//   sign-in:  POST <action>/options → navigator.credentials.get    → POST <action>
// Both posts are JSON with the form's own _csrf field, same-origin: the CSRF layer checks them as
// it checks any form. The server answers { next } to go to, or { message } to show.

const toBytes = (b64url) => Uint8Array.from(atob(b64url.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
const toB64url = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=/g, '');
const descriptors = (list) => (list ?? []).map((d) => ({ ...d, id: toBytes(d.id) }));

async function post(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(answer.message || 'That did not work; please try again.');
  return answer;
}

async function register(form, fields) {
  const options = await post(`${form.action}/options`, { _csrf: fields._csrf });
  const credential = await navigator.credentials.create({
    publicKey: {
      ...options,
      challenge: toBytes(options.challenge),
      user: { ...options.user, id: toBytes(options.user.id) },
      excludeCredentials: descriptors(options.excludeCredentials),
    },
  });
  const r = credential.response;
  const response = { clientDataJSON: toB64url(r.clientDataJSON), attestationObject: toB64url(r.attestationObject) };
  if (r.getTransports) response.transports = r.getTransports();
  return post(form.action, { _csrf: fields._csrf, name: fields.name, credential: { ...common(credential), response } });
}

async function signIn(form, fields) {
  const options = await post(`${form.action}/options`, { _csrf: fields._csrf });
  const credential = await navigator.credentials.get({
    publicKey: { ...options, challenge: toBytes(options.challenge), allowCredentials: descriptors(options.allowCredentials) },
  });
  const r = credential.response;
  const response = {
    clientDataJSON: toB64url(r.clientDataJSON),
    authenticatorData: toB64url(r.authenticatorData),
    signature: toB64url(r.signature),
  };
  if (r.userHandle) response.userHandle = toB64url(r.userHandle);
  return post(form.action, {
    _csrf: fields._csrf,
    credential: { ...common(credential), response },
    ...(fields.next ? { next: fields.next } : {}),
  });
}

function common(credential) {
  const out = { id: credential.id, rawId: toB64url(credential.rawId), type: credential.type, clientExtensionResults: {} };
  if (credential.authenticatorAttachment) out.authenticatorAttachment = credential.authenticatorAttachment;
  return out;
}

const ceremonies = { register, 'sign-in': signIn };

if (window.PublicKeyCredential && navigator.credentials) {
  for (const form of document.querySelectorAll('form[data-passkey]')) {
    const ceremony = ceremonies[form.dataset.passkey];
    if (!ceremony) continue;
    const status = form.querySelector('[data-passkey-status]');
    const button = form.querySelector('button[type=submit]');
    form.hidden = false;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      button.disabled = true;
      status.hidden = true;
      try {
        const { next } = await ceremony(form, Object.fromEntries(new FormData(form)));
        window.location.assign(next);
      } catch (err) {
        // A prompt the user closed is a NotAllowedError: say so plainly, not as a failure.
        status.textContent = err.name === 'NotAllowedError' ? 'The passkey prompt was closed or timed out.' : err.message;
        status.hidden = false;
        button.disabled = false;
      }
    });
  }
}
