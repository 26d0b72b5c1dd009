/**
 * The JSON text of store objects, made once per object version (the
 * apiserver's idea of caching an object's encoding). Store objects are frozen
 * and replaced, never changed, on every write, so an object's identity stands
 * for its version: a WeakMap keyed by it needs no invalidation and lets go of
 * the text with the object. Answers that also draw on other objects (a task's
 * networks) name them as `inputs`; the text is made again when any of them is
 * not the one it was made from.
 *
 * Why: `docker service ps`, polled by `--detach=false` progress and by
 * scripts, asks for every task of a service each time; translating and
 * stringifying 30 unchanged tasks was most of the gateway's CPU per poll.
 */
export class SerializedObjects<O extends object> {
  private readonly texts = new WeakMap<O, { readonly inputs: readonly unknown[]; readonly text: string }>();

  text(object: O, inputs: readonly unknown[], make: () => unknown): string {
    const known = this.texts.get(object);
    if (known !== undefined && sameInputs(known.inputs, inputs)) return known.text;
    const text = JSON.stringify(make());
    this.texts.set(object, { inputs, text });
    return text;
  }
}

function sameInputs(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A JSON array of already-serialised elements, as `res.json` would send it. */
export function jsonArray(texts: readonly string[]): string {
  return `[${texts.join(',')}]`;
}
