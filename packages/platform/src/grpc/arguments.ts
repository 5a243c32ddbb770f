import { Validator } from "./validation";

/** A request whose only argument is an id: the id, or INVALID_ARGUMENT naming `field`. */
export function uuidArgument(field: string, value: string): string {
  const v = new Validator();
  const id = v.uuid(field, value);
  v.check();
  return id;
}
