// Where the web UI's modules live, for the tests beside this file.
export const UI = new URL("../../api/shortlink/api/ui/", import.meta.url);
