/** The part of react-refresh's runtime (Fast Refresh, as bundlers' React plugins drive it) the tests use. */
declare module "react-refresh/runtime" {
  /** Install the hook React's renderer registers with; before react-dom is first imported. */
  export function injectIntoGlobalHook(globalObject: object): void;
  /** Record a component under an id: registering another function under the same id is an edit of it. */
  export function register(type: unknown, id: string): void;
  /** Re-render the edited components in place, keeping their state as a bundler's hot update does. */
  export function performReactRefresh(): unknown;
}
