package console

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// Operator pages: the same store functions as `metalplane admin` (hosts
// list and maintenance, faults list, teams list), for admin keys of the
// operators' team.

type stockPage struct {
	Chart stockChart
}

func (s *Server) showStock(w http.ResponseWriter, r *http.Request, sess *session) {
	counts, err := s.DB.HostCounts(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, sess, "stock", stockPage{Chart: newStockChart(s.Catalog.Offers, counts)})
}

// maxHostRows bounds the hosts listed at once; filters narrow the list.
const maxHostRows = 200

type hostsPage struct {
	Filter sqlstore.HostFilter
	Hosts  []sqlstore.Host
	More   int
	Zones  []metalplane.Zone
	Types  []metalplane.InstanceType
	States []string
	Notice string
	Error  string
}

func (s *Server) showHosts(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	f := sqlstore.HostFilter{ZoneID: q.Get("zone"), InstanceTypeID: q.Get("type"), State: q.Get("state")}
	if f.ZoneID == "" && len(s.Catalog.Zones) > 0 && q.Get("all") == "" {
		f.ZoneID = s.Catalog.Zones[0].ID
	}
	hosts, err := s.DB.FindHosts(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := hostsPage{Filter: f, Hosts: hosts, Zones: s.Catalog.Zones, Types: s.Catalog.InstanceTypes, Notice: q.Get("notice"), Error: q.Get("error"),
		States: []string{sqlstore.HostAvailable, sqlstore.HostAllocated, sqlstore.HostMaintenance, sqlstore.HostRetired}}
	if len(hosts) > maxHostRows {
		page.Hosts, page.More = hosts[:maxHostRows], len(hosts)-maxHostRows
	}
	s.render(w, r, sess, "hosts", page)
}

// setMaintenance moves a free host into or out of maintenance, as `admin
// hosts maintenance` does, and goes back to the list it came from.
func (s *Server) setMaintenance(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	on := r.PostFormValue("on") == "true"
	back := url.Values{"zone": {r.PostFormValue("zone")}, "type": {r.PostFormValue("type")}, "state": {r.PostFormValue("state")}}
	err := s.DB.SetHostMaintenance(r.Context(), id, on, r.PostFormValue("note"))
	switch {
	case errors.Is(err, sqlstore.ErrNotFound):
		http.NotFound(w, r)
		return
	case err != nil:
		// The store's refusal (a host holding an instance) is for the
		// operator to read, as `admin hosts maintenance` prints it.
		back.Set("error", err.Error())
	case on:
		back.Set("notice", id+" is in maintenance")
	default:
		back.Set("notice", id+" is back in stock")
	}
	http.Redirect(w, r, "/console/ops/hosts?"+back.Encode(), http.StatusSeeOther)
}

func (s *Server) showFaults(w http.ResponseWriter, r *http.Request, sess *session) {
	faults, err := s.DB.Faults(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, sess, "faults", faults)
}

func (s *Server) showTeams(w http.ResponseWriter, r *http.Request, sess *session) {
	teams, err := s.DB.ListTeams(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, sess, "teams", teams)
}
