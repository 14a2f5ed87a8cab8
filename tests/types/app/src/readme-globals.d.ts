// What the README's examples leave to the app around them.

/** Where the API lives, e.g. "https://api.example.com". */
declare const ORIGIN: string;
/** An `<input type="file">` of the page. */
declare const fileInput: HTMLInputElement;
/** The app's own login form. */
declare function showLoginForm(): void;
