// Package agentapi is the protocol between the provisioning listener
// (package netboot) and the deploy agent (cmd/metalplane-agent): a
// package of its own so that the agent, a static binary in the ramdisk,
// imports none of the server.
package agentapi

// Task is what the agent is told to do (GET /agent/{token}/task).
type Task struct {
	ImageURL    string `json:"imageUrl"`
	ImageSHA256 string `json:"imageSha256"`
	ImageFormat string `json:"imageFormat"`
	// SeedURL is the NoCloud-net base URL (ending in /): SeedFiles below
	// it.
	SeedURL string `json:"seedUrl"`
	// ReportURL takes the agent's reports (Report, POSTed as JSON).
	ReportURL string `json:"reportUrl"`
}

// Report is one report of the agent.
type Report struct {
	Step  string `json:"step"`
	Bytes int64  `json:"bytes"`
	// Done ends the deployment: the agent powers the server off next.
	Done bool `json:"done"`
	// FailCode is one of the Fail* codes when the deployment failed.
	FailCode string `json:"failCode,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// Failure codes.
const (
	FailChecksum = "checksum"  // the image's SHA-256 differs from the catalog's
	FailTooSmall = "too-small" // the image (and its seed) do not fit the disk
	FailImage    = "image"     // the image is not a disk image the agent can seed
	FailIO       = "io"        // anything else: network, disk writes
)

// Steps the agent reports.
const (
	StepStarted      = "started"
	StepWriting      = "writing-image"
	StepImageWritten = "image-written"
	StepSeedWritten  = "seed-written"
	StepDone         = "done"
	StepFailed       = "failed"
)

// SeedFiles are the files of a NoCloud seed, served below Task.SeedURL
// and written by the agent to the cidata partition.
var SeedFiles = []string{"meta-data", "user-data", "vendor-data", "network-config"}

// SeedLabel is the label of the seed's filesystem and partition, which
// cloud-init's NoCloud datasource looks for.
const SeedLabel = "cidata"

// Kernel command-line parameters the iPXE script gives the agent.
const (
	CmdlineAPI   = "metalplane.api"
	CmdlineToken = "metalplane.token"
)
