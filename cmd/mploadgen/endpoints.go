package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/metalplane/metalplane/httpapi"
)

// parseEndpoints splits --endpoint, a comma-separated list of server URLs
// (replicas on one database), and checks that each is http(s)://host[:port].
// Requests go to the replicas in turn, as a round-robin load balancer would
// send them.
func parseEndpoints(list string) ([]string, error) {
	var endpoints []string
	for raw := range strings.SplitSeq(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return nil, fmt.Errorf("--endpoint %q holds an empty URL", list)
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--endpoint %q is not http(s)://host[:port]", raw)
		}
		endpoints = append(endpoints, strings.TrimRight(raw, "/"))
	}
	if len(endpoints) == 0 {
		return nil, errors.New("--endpoint is empty")
	}
	return endpoints, nil
}

// newClients returns one signed client per endpoint, all sharing one
// transport that keeps a connection per caller to each endpoint idle.
func newClients(c *config, id, secret string) ([]*httpapi.Client, *http.Transport) {
	// http.DefaultTransport keeps two idle connections per host; the other
	// workers would pay a TCP handshake per request.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = c.Concurrency
	hc := &http.Client{Transport: tr}
	clients := make([]*httpapi.Client, len(c.Endpoints))
	for i, endpoint := range c.Endpoints {
		clients[i] = &httpapi.Client{Endpoint: endpoint, Service: "bmc", Version: httpapi.BMCVersion2026,
			AccessKeyID: id, AccessKeySecret: secret, HTTPClient: hc}
	}
	return clients, tr
}
