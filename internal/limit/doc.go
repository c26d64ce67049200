// Package limit bounds what clients can take from the server before they
// are known: open connections (Listener) and requests per second
// (Buckets), both counted per source address (Source). docs/security.md
// lists the limits and their values.
package limit
