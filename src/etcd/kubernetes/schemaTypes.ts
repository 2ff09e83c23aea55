/**
 * The shape of the generated Kubernetes descriptor (schema/kubernetes.json), shared by the generator
 * (scripts/kubernetes/generateSchema.ts) and the decoder. Compact on purpose: it ships in the .vsix.
 */

/** Messages whose JSON form is not a plain object of their fields (Go writes it with a MarshalJSON). */
export type SpecialKind =
  | 'time'
  | 'microTime'
  | 'duration'
  | 'quantity'
  | 'intOrString'
  | 'rawJson'
  | 'schemaOrArray'
  | 'schemaOrBool'
  | 'schemaOrStringArray'
  | 'list';

export const FIELD_REPEATED = 1;
export const FIELD_MAP = 2;
/** Go `omitempty`: a zero value is not printed. */
export const FIELD_OMITEMPTY = 4;
/** Go pointer: printed whenever it is set, even to a zero value. */
export const FIELD_POINTER = 8;
/** Go embedded struct printed inline: its fields are spread into the parent object. */
export const FIELD_INLINE = 16;

/**
 * [field number, JSON name, type, flags, map key type?]. The type is a proto scalar name ("string",
 * "int64", ...) or the index of a message in KubernetesSchema.messages (a map field's value type).
 */
export type FieldDescriptor = [number, string, string | number, number, string?];

/** [full proto name, fields in Go declaration order, special kind?]. */
export type MessageDescriptor = [string, FieldDescriptor[], SpecialKind?];

export interface KubernetesSchema {
  about: string;
  license: string;
  /** "<module>/<package> <tag or HEAD> <commit>" for every package the descriptor was generated from. */
  upstream: string[];
  /** apiVersion ("v1", "apps/v1", ...) → proto package holding its kinds. */
  groups: Record<string, string>;
  messages: MessageDescriptor[];
}
