import { readFileSync } from "node:fs";
import { createFileRegistry, fromBinary, ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

/**
 * Checks a message against its proto schema before it is encoded.
 *
 * ts-proto's `encode` trusts its input's type: a plain object that lacks a string field (built
 * without `fromPartial`, or passed through `any`) is encoded with that field set to the text
 * "undefined", which the receiver cannot tell from a real value. The generated types forbid that
 * at compile time; this check stops the ones that slip past the compiler at the gRPC boundary.
 *
 * Only what the encoder would turn into a wrong value is checked: scalar and enum fields without
 * explicit presence (proto3 `optional` fields and oneof members may be absent), repeated and map
 * fields, and present nested messages, recursively. Well-known types (`google.protobuf.*`, e.g.
 * Timestamp as a `Date`) are mapped to JS types by ts-proto and left alone.
 */
export type ShapeCheck = (value: unknown) => string | undefined;

/** The JS type ts-proto uses for a scalar (forceLong=number: every integer is a number). */
function expectedJsType(field: DescField & { fieldKind: "scalar" }): string | undefined {
  switch (field.scalar) {
    case ScalarType.STRING:
      return "string";
    case ScalarType.BOOL:
      return "boolean";
    case ScalarType.BYTES:
      return undefined; // Uint8Array or Buffer: checked for presence only
    default:
      return "number";
  }
}

function describe(value: unknown): string {
  return value === undefined ? "missing" : `a ${typeof value} (${JSON.stringify(value)?.slice(0, 40)})`;
}

export class MessageShapes {
  private readonly checks = new Map<string, ShapeCheck>();
  private readonly methods = new Map<string, { input: DescMessage; output: DescMessage }>();

  constructor(descriptorSet: Uint8Array) {
    const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet));
    for (const file of registry.files) {
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

  forMessage(message: DescMessage): ShapeCheck {
    const known = this.checks.get(message.typeName);
    if (known) return known;
    const fieldChecks: ((value: Record<string, unknown>) => string | undefined)[] = [];
    const check: ShapeCheck = (value) => {
      if (typeof value !== "object" || value === null) return `${message.name} is ${describe(value)}, not an object`;
      for (const fieldCheck of fieldChecks) {
        const problem = fieldCheck(value as Record<string, unknown>);
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
    return check;
  }

  private fieldCheck(message: DescMessage, field: DescField): ((value: Record<string, unknown>) => string | undefined) | undefined {
    const name = field.localName;
    const where = `${message.name}.${name}`;
    if (field.oneof || field.proto.proto3Optional) return undefined;
    switch (field.fieldKind) {
      case "scalar": {
        const jsType = expectedJsType(field);
        return (value) => {
          const v = value[name];
          if (v === undefined || v === null || (jsType !== undefined && typeof v !== jsType)) {
            return `${where} is ${describe(v)}; expected ${jsType ?? "bytes"}`;
          }
          return undefined;
        };
      }
      case "enum":
        return (value) => (typeof value[name] === "number" ? undefined : `${where} is ${describe(value[name])}; expected an enum number`);
      case "list":
        return (value) => (Array.isArray(value[name]) ? undefined : `${where} is ${describe(value[name])}; expected an array`);
      case "map":
        return (value) =>
          typeof value[name] === "object" && value[name] !== null ? undefined : `${where} is ${describe(value[name])}; expected an object`;
      case "message": {
        if (field.message.typeName.startsWith("google.protobuf.")) return undefined;
        const nested = field.message;
        return (value) => {
          const v = value[name];
          return v === undefined ? undefined : this.forMessage(nested)(v);
        };
      }
    }
  }
}
