import { isQcow2Error, type Qcow2Error } from "../src/index.js";

/** The typed error `p` rejects with; anything else (a resolve, an untyped error) fails the test. */
export async function typedFailure(p: Promise<unknown>): Promise<Qcow2Error> {
  try {
    await p;
  } catch (e) {
    if (isQcow2Error(e)) return e;
    throw e;
  }
  throw new Error("expected a typed error");
}
