package app

import (
	"net/http"
	"strings"

	"github.com/metalplane/metalplane/console"
)

// withConsole sends /console and everything under /console/ to the
// console and every other path to the API, which answers them all in its
// JSON envelope (a ServeMux would answer unclean API paths with a
// redirect instead).
func withConsole(consoleHandler, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/console":
			http.Redirect(w, r, console.Prefix, http.StatusMovedPermanently)
		case strings.HasPrefix(r.URL.Path, console.Prefix):
			consoleHandler.ServeHTTP(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}
