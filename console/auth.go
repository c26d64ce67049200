package console

import (
	"errors"
	"net/http"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// Sign-in. The login form is protected from cross-site posts by a token
// in a cookie of its own repeated in the form (a signed-out browser has
// no session to hold one); the session cookie is SameSite=Strict besides.

type loginPage struct {
	Token string
	Error string
}

// showLogin draws the form: no database is touched.
func (s *Server) showLogin(w http.ResponseWriter, r *http.Request) {
	if s.session(r) != nil {
		http.Redirect(w, r, "/console/instances", http.StatusSeeOther)
		return
	}
	token := randomToken()
	s.setCookie(w, r, loginCookie, token, 3600)
	s.render(w, r, nil, "login", loginPage{Token: token})
}

// login exchanges an access key id and secret for a session. A wrong pair
// spends the source's auth-failure bucket, as a 401 of the API does.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostFormValue("token"), c.Value) {
		http.Error(w, "The sign-in form is stale or forged: reload it.", http.StatusForbidden)
		return
	}
	id, secret := r.PostFormValue("accessKeyId"), r.PostFormValue("accessKeySecret")
	refuse := func() {
		s.API.AuthFailed(r)
		s.renderStatus(w, r, nil, http.StatusUnauthorized, "login", loginPage{Token: c.Value, Error: "The access key does not exist, is disabled, or the secret is wrong."})
	}
	if id == "" || secret == "" || len(id) > metalplane.MaxIDLength || len(secret) > 256 {
		refuse()
		return
	}
	key, err := s.DB.FindAccessKey(r.Context(), id)
	if errors.Is(err, sqlstore.ErrNotFound) {
		refuse()
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !key.Enabled || !sameToken(secret, key.Secret) {
		refuse()
		return
	}
	operator, err := s.isOperator(r, key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess := s.sessions.create(metalplane.Caller{TeamID: key.TeamID, AccessKeyID: key.ID, IsAdmin: key.IsAdmin}, operator, s.now())
	s.setCookie(w, r, loginCookie, "", -1)
	s.setCookie(w, r, sessionCookie, sess.id, int(sessionLifetime.Seconds()))
	http.Redirect(w, r, "/console/instances", http.StatusSeeOther)
}

// isOperator reports whether key is an admin key of the operators' team.
func (s *Server) isOperator(r *http.Request, key *metalplane.AccessKey) (bool, error) {
	if s.OperatorTeam == "" || !key.IsAdmin {
		return false, nil
	}
	team, err := s.DB.FindTeam(r.Context(), s.OperatorTeam)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return team.ID == key.TeamID, nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *session) {
	s.sessions.end(sess.id)
	s.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}
