package httpapi

import "slices"

// otherLabel stands for a service, action or version the server does not
// serve, in what ObserveRequestFunc is told: those come from the client,
// and a metric label per made-up name would let any client grow the
// server's memory and every scrape without bound.
const otherLabel = "other"

// observedNames returns the service, action and version of req as
// ObserveRequestFunc is told them: each as sent when it is served,
// otherLabel otherwise.
func observedNames(req *request) (service, action, version string) {
	service, action, version = otherLabel, otherLabel, otherLabel
	if !knownService(req.service) {
		return
	}
	service = req.service
	if _, ok := actionIndex[[2]string{req.service, req.action}]; ok {
		action = req.action
	}
	if slices.Contains(serviceVersions[req.service], req.version) {
		version = req.version
	}
	return
}
