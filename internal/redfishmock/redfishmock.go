// Package redfishmock runs a Redfish service in the test's process: the
// DMTF public-rackmount1 mockup (system 437XR1138R2), served with state
// and HTTP Basic authentication by metal-operator's mock server
// (github.com/ironcore-dev/metal-operator/bmc/mock/server, Apache-2.0),
// behind a front of our own that adds what the mockup lacks: a RAID
// controller (Storage with Drives and Volumes, volumes created by
// asynchronous tasks, as real controllers do) and faults (a BMC that hangs,
// or answers 503). Tests read the service's state with plain HTTP, not
// through the driver's client, to check what a driver did.
package redfishmock

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/ironcore-dev/metal-operator/bmc/mock/server"
)

// The mockup's system and account (AccountService/Accounts/1).
const (
	SystemPath = "/redfish/v1/Systems/437XR1138R2"
	User       = "admin"
	Password   = "adminpass"
)

// Paths of the RAID controller the front adds.
const (
	storagePath = SystemPath + "/Storage"
	ctlPath     = storagePath + "/RAID"
	drivesPath  = ctlPath + "/Drives/"
	volumesPath = ctlPath + "/Volumes"
	monitorPath = ctlPath + "/TaskMonitors/"
	// volumeBuildTime is how long a volume takes to appear after its
	// creation was accepted.
	volumeBuildTime = 100 * time.Millisecond
)

// Options shape the service.
type Options struct {
	// RAIDDrives gives the system a RAID controller with that many drives;
	// 0 leaves it without Storage, as the mockup is.
	RAIDDrives int
	// RAIDTypes are the levels the controller offers; nil offers RAID0,
	// RAID1, RAID5 and RAID10.
	RAIDTypes []string
	// TLS serves HTTPS with a certificate from CertPool.
	TLS bool
}

// Server is one running service.
type Server struct {
	// URL is the service's base URL (http://127.0.0.1:PORT).
	URL string
	// CertPool verifies the service's certificate (TLS only).
	CertPool *x509.CertPool
	opts     Options
	client   *http.Client
	mock     *server.MockServer

	mu          sync.Mutex
	requests    []string
	unavailable bool
	conflicts   int           // changes still to refuse with 409
	hang        chan struct{} // non-nil: requests wait until it is closed
	volumes     []*mockVolume
	nextID      int
}

type mockVolume struct {
	id      int
	raid    string
	drives  []string
	readyAt time.Time
}

// Start runs a service and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.RAIDTypes == nil {
		opts.RAIDTypes = []string{"RAID0", "RAID1", "RAID5", "RAID10"}
	}
	s := &Server{opts: opts}
	backend := s.startMock(t)
	proxy := httputil.NewSingleHostReverseProxy(backend)
	proxy.ModifyResponse = s.addStorageLink
	// A client giving up on a hanging BMC is what tests expect.
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, proxy)
	}))
	// So are refused handshakes (a client without the CA).
	front.Config.ErrorLog = proxy.ErrorLog
	if opts.TLS {
		front.StartTLS()
		s.CertPool = x509.NewCertPool()
		s.CertPool.AddCert(front.Certificate())
	} else {
		front.Start()
	}
	t.Cleanup(func() {
		s.Hang(false)
		front.Close()
	})
	s.URL = front.URL
	s.client = front.Client()
	return s
}

// startMock runs metal-operator's mock on a free port; it takes an
// address, not a listener, so a port taken in between means another try.
func (s *Server) startMock(t testing.TB) *url.URL {
	t.Helper()
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		mock := server.NewMockServer(logr.Discard(), addr, server.WithAuth())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { mock.Start(ctx); close(done) }()
		stop := func() { cancel(); <-done }
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			resp, err := http.Get("http://" + addr + "/redfish/v1/")
			if err != nil {
				continue
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.mock = mock
				t.Cleanup(stop)
				return &url.URL{Scheme: "http", Host: addr}
			}
			break // someone else's server on that port
		}
		stop()
	}
	t.Fatal("the Redfish mock did not start")
	return nil
}

// Address is the system's BMC address for redfish.ParseAddress (no
// password).
func (s *Server) Address() string {
	scheme := "redfish+http"
	if s.opts.TLS {
		scheme = "redfish+https"
	}
	return scheme + "://" + User + "@" + strings.TrimPrefix(strings.TrimPrefix(s.URL, "http://"), "https://") + SystemPath
}

// SetUnavailable makes every request answer 503 Service Unavailable, as a
// BMC does while it restarts.
func (s *Server) SetUnavailable(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unavailable = on
}

// Conflict makes the next n changes (POST, PATCH, DELETE) answer 409
// Conflict, as a BMC does while another operation runs.
func (s *Server) Conflict(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conflicts = n
}

// Hang makes requests wait, unanswered, until Hang(false) or until their
// client gives up: a BMC that stopped answering.
func (s *Server) Hang(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case on && s.hang == nil:
		s.hang = make(chan struct{})
	case !on && s.hang != nil:
		close(s.hang)
		s.hang = nil
	}
}

// Requests lists the requests the service received, as "METHOD PATH",
// followed by the body of a POST or PATCH.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, proxy http.Handler) {
	entry := r.Method + " " + r.URL.Path
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPatch) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		entry += " " + string(bytes.TrimSpace(body))
	}
	s.mu.Lock()
	s.requests = append(s.requests, entry)
	hang, unavailable := s.hang, s.unavailable
	conflict := s.conflicts > 0 && r.Method != http.MethodGet
	if conflict {
		s.conflicts--
	}
	s.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	if unavailable {
		writeError(w, http.StatusServiceUnavailable, "the service is restarting")
		return
	}
	if conflict {
		writeError(w, http.StatusConflict, "another operation is in progress")
		return
	}
	if s.opts.RAIDDrives > 0 && (r.URL.Path == storagePath || strings.HasPrefix(r.URL.Path, storagePath+"/")) {
		if u, p, ok := r.BasicAuth(); !ok || !s.mock.Authenticate(u, p) {
			writeError(w, http.StatusUnauthorized, "authentication required")
			return
		}
		s.serveStorage(w, r)
		return
	}
	proxy.ServeHTTP(w, r)
}

// addStorageLink links the system to the RAID controller's Storage.
func (s *Server) addStorageLink(resp *http.Response) error {
	if s.opts.RAIDDrives == 0 || resp.Request.Method != http.MethodGet ||
		strings.TrimSuffix(resp.Request.URL.Path, "/") != SystemPath || resp.StatusCode != http.StatusOK {
		return nil
	}
	var sys map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&sys); err != nil {
		return err
	}
	resp.Body.Close()
	sys["Storage"] = link(storagePath)
	b, err := json.Marshal(sys)
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return nil
}

func link(uri string) map[string]string { return map[string]string{"@odata.id": uri} }

func links(uris []string) []map[string]string {
	out := make([]map[string]string, len(uris))
	for i, u := range uris {
		out[i] = link(u)
	}
	return out
}

func (s *Server) drives() []string {
	out := make([]string, s.opts.RAIDDrives)
	for i := range out {
		out[i] = drivesPath + strconv.Itoa(i)
	}
	return out
}

// Drives lists the RAID controller's drive URIs, disk 1 first.
func (s *Server) Drives() []string { return s.drives() }

func (s *Server) serveStorage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodGet && path == storagePath:
		writeJSON(w, http.StatusOK, map[string]any{"@odata.id": storagePath, "@odata.type": "#StorageCollection.StorageCollection",
			"Name": "Storage Collection", "Members": links([]string{ctlPath}), "Members@odata.count": 1})
	case r.Method == http.MethodGet && path == ctlPath:
		writeJSON(w, http.StatusOK, map[string]any{"@odata.id": ctlPath, "@odata.type": "#Storage.v1_15_0.Storage", "Id": "RAID",
			"Name": "RAID controller", "Drives": links(s.drives()), "Volumes": link(volumesPath),
			"StorageControllers": []map[string]any{{"@odata.id": ctlPath + "#/StorageControllers/0", "MemberId": "0",
				"Name": "RAID controller", "SupportedRAIDTypes": s.opts.RAIDTypes}}})
	case r.Method == http.MethodGet && strings.HasPrefix(path, drivesPath) && slices.Contains(s.drives(), path):
		writeJSON(w, http.StatusOK, map[string]any{"@odata.id": path, "@odata.type": "#Drive.v1_17_0.Drive",
			"Id": strings.TrimPrefix(path, drivesPath), "Name": "SSD " + strings.TrimPrefix(path, drivesPath),
			"CapacityBytes": 480103981056, "MediaType": "SSD", "Protocol": "SATA"})
	case r.Method == http.MethodGet && path == volumesPath:
		var members []string
		for _, v := range s.volumes {
			if !now.Before(v.readyAt) {
				members = append(members, v.uri())
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.id": volumesPath, "@odata.type": "#VolumeCollection.VolumeCollection",
			"Name": "Volumes", "Members": links(members), "Members@odata.count": len(members)})
	case r.Method == http.MethodPost && path == volumesPath:
		s.createVolume(w, r, now)
	case strings.HasPrefix(path, volumesPath+"/"):
		i := slices.IndexFunc(s.volumes, func(v *mockVolume) bool { return v.uri() == path && !now.Before(v.readyAt) })
		switch {
		case i < 0:
			writeError(w, http.StatusNotFound, "no such volume")
		case r.Method == http.MethodGet:
			writeJSON(w, http.StatusOK, s.volumes[i].json())
		case r.Method == http.MethodDelete:
			s.volumes = slices.Delete(s.volumes, i, i+1)
			w.WriteHeader(http.StatusNoContent)
		default:
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		}
	case r.Method == http.MethodGet && strings.HasPrefix(path, monitorPath):
		i := slices.IndexFunc(s.volumes, func(v *mockVolume) bool { return monitorPath+strconv.Itoa(v.id) == path })
		switch {
		case i < 0:
			writeError(w, http.StatusNotFound, "no such task")
		case now.Before(s.volumes[i].readyAt):
			w.Header().Set("Location", path)
			writeJSON(w, http.StatusAccepted, map[string]any{"@odata.type": "#Task.v1_7_0.Task", "TaskState": "Running"})
		default:
			w.Header().Set("Location", s.volumes[i].uri())
			writeJSON(w, http.StatusCreated, s.volumes[i].json())
		}
	default:
		writeError(w, http.StatusNotFound, "not found")
	}
}

// minDrives is what each level needs, as controllers check.
var minDrives = map[string]int{"RAID0": 1, "RAID1": 2, "RAID5": 3, "RAID10": 4}

func (s *Server) createVolume(w http.ResponseWriter, r *http.Request, now time.Time) {
	var req struct {
		Name     string
		RAIDType string
		Links    struct {
			Drives []struct {
				ID string `json:"@odata.id"`
			}
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON")
		return
	}
	if !slices.Contains(s.opts.RAIDTypes, req.RAIDType) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("RAIDType %q is not supported", req.RAIDType))
		return
	}
	v := &mockVolume{raid: req.RAIDType, readyAt: now.Add(volumeBuildTime)}
	for _, d := range req.Links.Drives {
		if !slices.Contains(s.drives(), d.ID) || slices.Contains(v.drives, d.ID) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("drive %q is unknown or listed twice", d.ID))
			return
		}
		for _, other := range s.volumes {
			if slices.Contains(other.drives, d.ID) {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("drive %q belongs to volume %d", d.ID, other.id))
				return
			}
		}
		v.drives = append(v.drives, d.ID)
	}
	if n := len(v.drives); n < minDrives[req.RAIDType] || req.RAIDType == "RAID10" && n%2 != 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s cannot be built over %d drives", req.RAIDType, n))
		return
	}
	s.nextID++
	v.id = s.nextID
	s.volumes = append(s.volumes, v)
	w.Header().Set("Location", monitorPath+strconv.Itoa(v.id))
	writeJSON(w, http.StatusAccepted, map[string]any{"@odata.type": "#Task.v1_7_0.Task", "TaskState": "New"})
}

func (v *mockVolume) uri() string { return volumesPath + "/" + strconv.Itoa(v.id) }

func (v *mockVolume) json() map[string]any {
	return map[string]any{"@odata.id": v.uri(), "@odata.type": "#Volume.v1_9_0.Volume", "Id": strconv.Itoa(v.id),
		"Name": "Volume " + strconv.Itoa(v.id), "RAIDType": v.raid, "Links": map[string]any{"Drives": links(v.drives)}}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": "Base.1.8.GeneralError", "message": msg}})
}

// Volume is a RAID volume as the service reports it.
type Volume struct {
	RAIDType string
	Drives   []string
}

// Volumes reads the RAID controller's volumes.
func (s *Server) Volumes(t testing.TB) []Volume {
	t.Helper()
	var coll struct {
		Members []struct {
			ID string `json:"@odata.id"`
		}
	}
	s.get(t, volumesPath, &coll)
	out := make([]Volume, 0, len(coll.Members))
	for _, m := range coll.Members {
		var v struct {
			RAIDType string
			Links    struct {
				Drives []struct {
					ID string `json:"@odata.id"`
				}
			}
		}
		s.get(t, m.ID, &v)
		vol := Volume{RAIDType: v.RAIDType}
		for _, d := range v.Links.Drives {
			vol.Drives = append(vol.Drives, d.ID)
		}
		slices.Sort(vol.Drives)
		out = append(out, vol)
	}
	return out
}

// System is what the service says of the system: its power state and
// boot source override.
type System struct {
	PowerState string
	Boot       struct {
		BootSourceOverrideTarget  string
		BootSourceOverrideEnabled string
		BootSourceOverrideMode    string
	}
}

// System reads the system's resource.
func (s *Server) System(t testing.TB) System {
	t.Helper()
	var sys System
	s.get(t, SystemPath, &sys)
	return sys
}

// AwaitPower waits up to 2 s for the system's power state to read want
// (the mock changes it 50 ms after a reset) and fails the test otherwise.
func (s *Server) AwaitPower(t testing.TB, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = s.System(t).PowerState; got == want {
			return
		}
	}
	t.Fatalf("the Redfish service reports power %q, want %q", got, want)
}

// SetPowerState changes the power behind the BMC's back, as a person at
// the machine would: a reset sent with plain HTTP, waited for.
func (s *Server) SetPowerState(t testing.TB, on bool) {
	t.Helper()
	rt, want := "ForceOff", "Off"
	if on {
		rt, want = "On", "On"
	}
	if s.System(t).PowerState == want {
		return
	}
	s.do(t, http.MethodPost, SystemPath+"/Actions/ComputerSystem.Reset", `{"ResetType":"`+rt+`"}`, nil)
	s.AwaitPower(t, want)
}

// SetBootOverride sets the system's boot source override behind the
// BMC's back (the mockup starts with Pxe, Once), e.g. to "None",
// "Disabled".
func (s *Server) SetBootOverride(t testing.TB, target, enabled string) {
	t.Helper()
	s.do(t, http.MethodPatch, SystemPath, `{"Boot":{"BootSourceOverrideTarget":"`+target+`","BootSourceOverrideEnabled":"`+enabled+`"}}`, nil)
}

func (s *Server) get(t testing.TB, path string, into any) {
	t.Helper()
	s.do(t, http.MethodGet, path, "", into)
}

func (s *Server) do(t testing.TB, method, path, body string, into any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(User, Password)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}
