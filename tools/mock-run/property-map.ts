// A resource's inputs or outputs as the engine passes them, and a Docker Engine API answer: JSON
// values by property name, with a shape that differs for every resource type and endpoint. The
// type is open by nature, so `any` stands here, once, instead of in every reader.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PropertyMap = Record<string, any>;
