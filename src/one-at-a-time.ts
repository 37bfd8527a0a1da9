// Serialised calls of one async function: each call runs after the previous one settled (fulfilled
// or not), so each sees what the previous one left behind. Used by the driver's reconfigure (applies)
// and by app mode (a start or an apply of the saved settings). Owns no state beyond the queue's tail;
// no timeouts (a call that never settles holds the ones after it, as its callers expect).

/** `run`, with its calls made one at a time in call order. */
export function oneAtATime<A, R>(run: (arg: A) => Promise<R>): (arg: A) => Promise<R> {
  let last: Promise<void> = Promise.resolve();
  return (arg) => {
    const result = last.then(() => run(arg));
    last = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  };
}
