import { readFileSync } from "node:fs";
import { createFileRegistry, fromBinary, ScalarType, type DescField, type DescMessage, type DescOneof, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

/**
 * Checks a message against its proto schema before it is encoded.
 *
 * ts-proto's `encode` trusts its input's type: a plain object that lacks a string field (built
 * without `fromPartial`, or passed through `any`) is encoded with that field set to the text
 * "undefined", which the receiver cannot tell from a real value. The generated types forbid that
 * at compile time; this check stops the ones that slip past the compiler at the gRPC boundary
 * and before an event or command is written for Kafka.
 *
 * Only what the encoder would turn into a wrong value is checked: scalar and enum fields without
 * explicit presence (proto3 `optional` fields may be absent), every element of a repeated field
 * and every value of a map by its kind, the set member of a oneof (`{ $case, value }`, as
 * ts-proto's `oneof=unions-value` writes it), and present nested messages, recursively.
 * Well-known types (`google.protobuf.*`, e.g. Timestamp as a `Date`) are mapped to JS types by
 * ts-proto and left alone.
 */
export type ShapeCheck = (value: unknown) => string | undefined;

/** Checks one value of a field (a singular value, a list element, a map value); `where` names it. */
type ValueCheck = (value: unknown, where: string) => string | undefined;

/** What a field's values are: the shape shared by singular fields, list elements and map values. */
type ValueKind =
  | { kind: "scalar"; scalar: ScalarType }
  | { kind: "enum" }
  | { kind: "message"; message: DescMessage };

/** The JS type ts-proto uses for a scalar (forceLong=number: every integer is a number). */
function expectedJsType(scalar: ScalarType): "string" | "boolean" | "number" | "bytes" {
  switch (scalar) {
    case ScalarType.STRING:
      return "string";
    case ScalarType.BOOL:
      return "boolean";
    case ScalarType.BYTES:
      return "bytes";
    default:
      return "number";
  }
}

/** What one value of a field is: the field's own value, a list's element, or a map's value. */
function valueKindOf(field: DescField): ValueKind {
  switch (field.fieldKind) {
    case "list":
      if (field.listKind === "scalar") return { kind: "scalar", scalar: field.scalar };
      return field.listKind === "enum" ? { kind: "enum" } : { kind: "message", message: field.message };
    case "map":
      if (field.mapKind === "scalar") return { kind: "scalar", scalar: field.scalar };
      return field.mapKind === "enum" ? { kind: "enum" } : { kind: "message", message: field.message };
    case "scalar":
      return { kind: "scalar", scalar: field.scalar };
    case "enum":
      return { kind: "enum" };
    case "message":
      return { kind: "message", message: field.message };
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  return `a ${typeof value} (${JSON.stringify(value)?.slice(0, 40)})`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

export class MessageShapes {
  private readonly checks = new Map<string, ShapeCheck>();
  private readonly methods = new Map<string, { input: DescMessage; output: DescMessage }>();
  private readonly registry: FileRegistry;

  constructor(descriptorSet: Uint8Array) {
    this.registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet));
    for (const file of this.registry.files) {
      for (const service of file.services) {
        for (const method of service.methods) {
          this.methods.set(`/${service.typeName}/${method.name}`, { input: method.input, output: method.output });
        }
      }
    }
  }

  static fromFile(path: string): MessageShapes {
    return new MessageShapes(readFileSync(path));
  }

  /** The check for a method's request or response, by its gRPC path; undefined for unknown paths. */
  forMethod(path: string, side: "request" | "response"): ShapeCheck | undefined {
    const method = this.methods.get(path);
    if (!method) return undefined;
    return this.forMessage(side === "request" ? method.input : method.output);
  }

  /** The check for a message by its full name (`clinic.events.v1.SlotEvent`); undefined for unknown names. */
  forType(typeName: string): ShapeCheck | undefined {
    const message = this.registry.getMessage(typeName);
    return message ? this.forMessage(message) : undefined;
  }

  forMessage(message: DescMessage): ShapeCheck {
    const known = this.checks.get(message.typeName);
    if (known) return known;
    const fieldChecks: ((value: Record<string, unknown>) => string | undefined)[] = [];
    const check: ShapeCheck = (value) => {
      if (!isObject(value)) return `${message.name} is ${describe(value)}, not an object`;
      for (const fieldCheck of fieldChecks) {
        const problem = fieldCheck(value);
        if (problem) return problem;
      }
      return undefined;
    };
    // Registered before the fields are built, so recursive message types terminate.
    this.checks.set(message.typeName, check);
    for (const field of message.fields) {
      const fieldCheck = this.fieldCheck(message, field);
      if (fieldCheck) fieldChecks.push(fieldCheck);
    }
    for (const oneof of message.oneofs) fieldChecks.push(this.oneofCheck(message, oneof));
    return check;
  }

  private fieldCheck(message: DescMessage, field: DescField): ((value: Record<string, unknown>) => string | undefined) | undefined {
    const name = field.localName;
    const where = `${message.name}.${name}`;
    // Oneof members are checked with their oneof (below); a proto3 `optional` may be absent.
    if (field.oneof || field.proto.proto3Optional) return undefined;
    const check = this.valueCheck(valueKindOf(field));
    switch (field.fieldKind) {
      case "scalar":
      case "enum":
        // No presence: absent is as wrong as the wrong type.
        return (value) => check(value[name], where);
      case "message":
        // A singular message field may be absent (encoded as not set).
        return (value) => (value[name] === undefined ? undefined : check(value[name], where));
      case "list":
        return (value) => {
          const list = value[name];
          if (!Array.isArray(list)) return `${where} is ${describe(list)}; expected an array`;
          for (let i = 0; i < list.length; i++) {
            const problem = check(list[i], `${where}[${i}]`);
            if (problem) return problem;
          }
          return undefined;
        };
      case "map":
        return (value) => {
          const map = value[name];
          if (!isObject(map) || Array.isArray(map)) return `${where} is ${describe(map)}; expected an object`;
          for (const [key, v] of Object.entries(map)) {
            const problem = check(v, `${where}[${JSON.stringify(key)}]`);
            if (problem) return problem;
          }
          return undefined;
        };
    }
  }

  /**
   * A oneof is absent (none set) or `{ $case, value }` with `$case` one of its members' names and
   * `value` that member's value; ts-proto's encoder writes nothing for an unknown `$case`.
   */
  private oneofCheck(message: DescMessage, oneof: DescOneof): (value: Record<string, unknown>) => string | undefined {
    const where = `${message.name}.${oneof.localName}`;
    const members = new Map<string, ValueCheck>();
    for (const field of oneof.fields) members.set(field.localName, this.valueCheck(valueKindOf(field)));
    return (value) => {
      const set = value[oneof.localName];
      if (set === undefined) return undefined;
      if (!isObject(set)) return `${where} is ${describe(set)}; expected { $case, value }`;
      const member = typeof set.$case === "string" ? members.get(set.$case) : undefined;
      if (!member) return `${where}.$case is ${describe(set.$case)}; expected one of ${[...members.keys()].join(", ")}`;
      return member(set.value, `${where}.${set.$case}`);
    };
  }

  private valueCheck(kind: ValueKind): ValueCheck {
    switch (kind.kind) {
      case "scalar": {
        const jsType = expectedJsType(kind.scalar);
        return (v, where) => {
          const ok = jsType === "bytes" ? v instanceof Uint8Array : typeof v === jsType;
          return ok ? undefined : `${where} is ${describe(v)}; expected ${jsType}`;
        };
      }
      case "enum":
        return (v, where) => (typeof v === "number" ? undefined : `${where} is ${describe(v)}; expected an enum number`);
      case "message": {
        const { message } = kind;
        if (message.typeName.startsWith("google.protobuf.")) return () => undefined;
        // Resolved on first use: the nested type's check may still be under construction.
        return (v, where) => {
          const problem = this.forMessage(message)(v);
          return problem === undefined ? undefined : `${where}: ${problem}`;
        };
      }
    }
  }
}
