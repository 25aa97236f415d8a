// The driver-error recogniser lives with the database layer (the accounts' CLI uses it too);
// the services import it from here.
export { isUniqueViolation, violatedUnique } from './unique-violation.js';
