package netboot

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/netboot/agentapi"
	"github.com/metalplane/metalplane/sqlstore"
)

// Server is the provisioning listener's handler. Servers on the
// provisioning network reach it without credentials, so every answer
// beyond the ramdisk is bound to a deployment: the iPXE script to the
// server's MAC while it has one active, the rest to the token that
// script carries (a fresh one at each fetch, so a token read by someone
// else stops working once the server boots).
type Server struct {
	DB *sqlstore.DB
	// BaseURL is how the servers reach this listener, e.g.
	// http://10.0.0.1:8081 (no trailing slash).
	BaseURL string
	// RamdiskDir holds vmlinuz and initrd.gz (make ramdisk).
	RamdiskDir string
	// DataDir is where images with a file source live.
	DataDir string
	// KernelArgs are added to the deploy kernel's command line, e.g. its
	// console.
	KernelArgs string
	// HTTPClient fetches images whose source is a URL; nil = a client
	// without timeout (images are large; the request's context bounds it).
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Paths of the listener.
const (
	ramdiskKernel = "vmlinuz"
	ramdiskInitrd = "initrd.gz"
	// maxReportBytes bounds one report of the agent.
	maxReportBytes = 8 << 10
)

// Handler returns the listener's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boot.ipxe", s.entry)
	mux.HandleFunc("GET /boot/{mac}", s.script)
	mux.HandleFunc("GET /ramdisk/{file}", s.ramdisk)
	mux.HandleFunc("GET /agent/{token}/task", s.withDeployment(s.agentTask))
	mux.HandleFunc("POST /agent/{token}/report", s.agentReport)
	mux.HandleFunc("GET /image/{token}", s.withDeployment(s.image))
	mux.HandleFunc("GET /nocloud/{token}/{file}", s.withDeployment(s.nocloud))
	return mux
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// entry serves GET /boot.ipxe, the script the DHCP server names: it
// chains to the script of the booting NIC's MAC.
func (s *Server) entry(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, "#!ipxe\nchain %s/boot/${netX/mac:hexhyp}.ipxe\n", s.BaseURL)
}

// script serves GET /boot/{mac}.ipxe (or /boot/{mac}): the script of the
// server's active deployment, with a new token; 404 when it has none, so
// that iPXE moves on to the next boot device.
func (s *Server) script(w http.ResponseWriter, r *http.Request) {
	raw := strings.TrimSuffix(r.PathValue("mac"), ".ipxe")
	hw, err := net.ParseMAC(strings.ReplaceAll(raw, "-", ":"))
	if err != nil {
		http.Error(w, "not a MAC address", http.StatusBadRequest)
		return
	}
	token := newToken()
	d, err := s.DB.BootDeployment(r.Context(), hw.String(), tokenHash(token))
	if errors.Is(err, sqlstore.ErrNotFound) {
		http.Error(w, "nothing to boot for this server", http.StatusNotFound)
		return
	}
	if err != nil {
		s.fail(w, "boot script", err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, s.renderScript(d, token))
}

// renderScript is a deployment's iPXE script: the tenant's script, or the
// deploy ramdisk with the agent's address and token on the kernel's
// command line.
func (s *Server) renderScript(d *sqlstore.Deployment, token string) string {
	if d.Mode == sqlstore.DeployModeIPXE {
		return "#!ipxe\necho metalplane: chaining to the instance's iPXE script\nchain " + ipxeQuote(d.Task.IpxeURL) + "\n"
	}
	args := strings.TrimSpace(agentapi.CmdlineAPI + "=" + s.BaseURL + " " + agentapi.CmdlineToken + "=" + token + " " + s.KernelArgs)
	return fmt.Sprintf(`#!ipxe
echo metalplane: booting the deploy agent
kernel %s/ramdisk/%s %s
initrd %s/ramdisk/%s
boot
`, s.BaseURL, ramdiskKernel, args, s.BaseURL, ramdiskInitrd)
}

// ipxeQuote keeps a URL one argument of an iPXE command: iPXE expands
// ${...} and splits on spaces, which a tenant's URL must not use to add
// commands of its own.
func ipxeQuote(u string) string {
	r := strings.NewReplacer(" ", "%20", "$", "%24", "\n", "", "\r", "")
	return r.Replace(u)
}

// ramdisk serves the deploy kernel and initrd.
func (s *Server) ramdisk(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name != ramdiskKernel && name != ramdiskInitrd {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(filepath.Join(s.RamdiskDir, name))
	if err != nil {
		s.fail(w, "ramdisk", err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.fail(w, "ramdisk", err)
		return
	}
	http.ServeContent(w, r, name, st.ModTime(), f)
}

// withDeployment finds the deployment of the request's token; a token
// that is unknown, replaced or ended is 404, as if nothing were there.
func (s *Server) withDeployment(next func(http.ResponseWriter, *http.Request, *sqlstore.Deployment)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := s.DB.DeploymentByToken(r.Context(), tokenHash(r.PathValue("token")))
		if errors.Is(err, sqlstore.ErrNotFound) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			s.fail(w, "deployment", err)
			return
		}
		next(w, r, d)
	}
}

func (s *Server) agentTask(w http.ResponseWriter, r *http.Request, d *sqlstore.Deployment) {
	if d.State != sqlstore.DeployBooted || d.Mode != sqlstore.DeployModeImage {
		http.NotFound(w, r)
		return
	}
	token := r.PathValue("token")
	writeJSON(w, agentapi.Task{
		ImageURL: s.BaseURL + "/image/" + token, ImageSHA256: d.Task.ImageSHA256, ImageFormat: d.Task.ImageFormat,
		SeedURL: s.BaseURL + "/nocloud/" + token + "/", ReportURL: s.BaseURL + "/agent/" + token + "/report",
	})
}

func (s *Server) agentReport(w http.ResponseWriter, r *http.Request) {
	var rep agentapi.Report
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxReportBytes))
	if err := dec.Decode(&rep); err != nil {
		http.Error(w, "bad report", http.StatusBadRequest)
		return
	}
	if rep.Step == "" || len(rep.Step) > 64 || len(rep.FailCode) > 32 || len(rep.Detail) > 1024 || rep.Bytes < 0 {
		http.Error(w, "bad report", http.StatusBadRequest)
		return
	}
	err := s.DB.ReportDeployment(r.Context(), tokenHash(r.PathValue("token")), sqlstore.DeployReport{
		Step: rep.Step, Bytes: rep.Bytes, Done: rep.Done, FailCode: rep.FailCode, Detail: rep.Detail})
	if errors.Is(err, sqlstore.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, "report", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// image streams the deployment's image: a file under the data dir (with
// ranges, so an agent may resume), or the body of its URL.
func (s *Server) image(w http.ResponseWriter, r *http.Request, d *sqlstore.Deployment) {
	if d.State != sqlstore.DeployBooted || d.Task.ImageSource == "" {
		http.NotFound(w, r)
		return
	}
	if metalplane.IsImageURL(d.Task.ImageSource) {
		s.proxyImage(w, r, d.Task.ImageSource)
		return
	}
	root, err := os.OpenRoot(s.DataDir)
	if err != nil {
		s.fail(w, "image", err)
		return
	}
	defer root.Close()
	// os.Root refuses paths (and symbolic links) leading out of the
	// data dir.
	f, err := root.Open(d.Task.ImageSource)
	if err != nil {
		s.fail(w, "image "+d.Task.ImageID, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.fail(w, "image", err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

func (s *Server) proxyImage(w http.ResponseWriter, r *http.Request, src string) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, src, nil)
	if err != nil {
		s.fail(w, "image", err)
		return
	}
	client := s.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	resp, err := client.Do(req)
	if err != nil {
		s.fail(w, "image", err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.fail(w, "image", fmt.Errorf("source answered %s", resp.Status))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", fmt.Sprint(resp.ContentLength))
	}
	io.Copy(w, resp.Body)
}

func (s *Server) nocloud(w http.ResponseWriter, r *http.Request, d *sqlstore.Deployment) {
	body, ok := seedFile(r.PathValue("file"), d)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}

func (s *Server) fail(w http.ResponseWriter, what string, err error) {
	l := s.Logger
	if l == nil {
		l = slog.Default()
	}
	l.Warn("provisioning listener", "what", what, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// NewHTTPServer wraps the handler in an http.Server with the timeouts of
// a listener that streams images: headers promptly, bodies as long as
// they take.
func NewHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.Background() },
	}
}
