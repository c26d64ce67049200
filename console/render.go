package console

import (
	"bytes"
	"html/template"
	"net/http"
	"path"
	"strings"
)

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"login", "error", "instances", "instance", "buy", "billing", "stock", "hosts", "faults", "teams"}

var funcs = template.FuncMap{
	"lower": strings.ToLower,
}

func parsePages() map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", path.Join("templates", name+".html")))
	}
	return pages
}

// view is what every page is rendered with.
type view struct {
	// Signed in, or nil.
	TeamID   string
	KeyID    string
	Operator bool
	CSRF     string
	Page     string
	Data     any
}

// render writes a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, sess *session, page string, data any) {
	s.renderStatus(w, r, sess, http.StatusOK, page, data)
}

// renderStatus writes a page with an HTTP status.
func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, sess *session, status int, page string, data any) {
	v := view{Page: page, Data: data}
	if sess != nil {
		v.TeamID, v.KeyID, v.Operator, v.CSRF = sess.caller.TeamID, sess.caller.AccessKeyID, sess.operator, sess.csrf
	}
	var b bytes.Buffer
	if err := s.pages[page].Execute(&b, v); err != nil {
		s.logger().Error("console: render", "page", page, "err", err)
		http.Error(w, "The page could not be drawn.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}
