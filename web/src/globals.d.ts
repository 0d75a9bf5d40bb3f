// The extension's review model (src/review/reviewState.ts), reused here, names VS Code's global
// promise-like type in its storage interface; outside VS Code that is any PromiseLike.
type Thenable<T> = PromiseLike<T>;
