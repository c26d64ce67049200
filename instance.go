package metalplane

import "time"

// InstanceStatus is the state of an instance (ACTIONS.md §1.1).
type InstanceStatus string

// Instance states.
const (
	StatusPending       InstanceStatus = "PENDING"
	StatusCreating      InstanceStatus = "CREATING"
	StatusCreateFailed  InstanceStatus = "CREATE_FAILED"
	StatusInstalling    InstanceStatus = "INSTALLING"
	StatusInstallFailed InstanceStatus = "INSTALL_FAILED"
	StatusRunning       InstanceStatus = "RUNNING"
	StatusStopped       InstanceStatus = "STOPPED"
	StatusBooting       InstanceStatus = "BOOTING"
	StatusStopping      InstanceStatus = "STOPPING"
	StatusRecycle       InstanceStatus = "RECYCLE"
)

// Charge types.
const (
	ChargeTypePrepaid  = "PREPAID"
	ChargeTypePostpaid = "POSTPAID"
)

// Internet charge types (ACTIONS.md §3.1.7).
const (
	InternetByBandwidth           = "ByBandwidth"
	InternetByTrafficPackage      = "ByTrafficPackage"
	InternetByInstanceBandwidth95 = "ByInstanceBandwidth95"
	InternetByClusterBandwidth95  = "ByClusterBandwidth95"
	InternetByBandwidthCluster    = "ByBandwidthCluster"
)

// InternetChargeTypes lists every internet charge type.
var InternetChargeTypes = []string{
	InternetByBandwidth, InternetByTrafficPackage, InternetByInstanceBandwidth95,
	InternetByClusterBandwidth95, InternetByBandwidthCluster,
}

// Instance is one bare-metal server of a team.
type Instance struct {
	ID                 string
	TeamID             string
	OrderNumber        string
	ZoneID             string
	InstanceTypeID     string
	HostID             string
	Name               string
	Hostname           string
	ImageID            string // "" when none (iPXE or install later)
	IpxeURL            string
	ChargeType         string
	Period             int // months, PREPAID only
	AutoRenew          bool
	InternetChargeType string
	BandwidthOutMbps   int
	TrafficPackageTB   float64
	ClusterID          string
	ResourceGroupID    string
	KeyID              string
	Status             InstanceStatus
	// FailureReason says why a provision or reinstall failed.
	FailureReason     string
	PublicIPv4        string
	PublicIPv6        string
	PrivateIP         string
	SubnetID          string
	RaidConfig        *RaidConfig // as requested; nil if none
	Partitions        []Partition // as requested
	Nic               Nic         // effective names
	Tags              []Tag
	EnableGatewayMode bool
	CreateTime        time.Time
	ExpiredTime       time.Time // zero until RUNNING for PREPAID
}

// The request types below carry JSON tags because they are the wire format
// of the actions that take them: pointer fields tell "absent" from "zero"
// (the 2026-02-01 SDK sends explicit zeros, the 2022-11-20 SDK omits them).

// ChargePrepaid holds the subscription period.
type ChargePrepaid struct {
	Period *int `json:"period"`
}

// RaidConfig is quick RAID (RaidType over all disks) or custom groups.
type RaidConfig struct {
	RaidType    *int         `json:"raidType,omitempty"`
	CustomRaids []CustomRaid `json:"customRaids,omitempty"`
}

// CustomRaid is one RAID group over consecutive disks (numbered from 1).
type CustomRaid struct {
	RaidType     *int  `json:"raidType"`
	DiskSequence []int `json:"diskSequence"`
}

// Partition is one file system of the installed OS.
type Partition struct {
	FsPath *string `json:"fsPath"`
	FsType *string `json:"fsType"`
	Size   *int    `json:"size"`
}

// Nic holds the names of the public (WAN) and private (LAN) interfaces.
type Nic struct {
	WanName *string `json:"wanName,omitempty"`
	LanName *string `json:"lanName,omitempty"`
}

// MarketingInfo holds promotion options of a purchase.
type MarketingInfo struct {
	DiscountCode  *string `json:"discountCode"`
	UsePocVoucher *bool   `json:"usePocVoucher"`
}

// Tag is a key/value label.
type Tag struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

// TagAssociation wraps the tags of a create request.
type TagAssociation struct {
	Tags []Tag `json:"tags"`
}

// CreateInstancesInput is the request of CreateInstances (ACTIONS.md §3.1).
type CreateInstancesInput struct {
	ZoneID                  *string         `json:"zoneId"`
	InstanceChargeType      *string         `json:"instanceChargeType"`
	InstanceChargePrepaid   *ChargePrepaid  `json:"instanceChargePrepaid"`
	InstanceTypeID          *string         `json:"instanceTypeId"`
	InternetChargeType      *string         `json:"internetChargeType"`
	ImageID                 *string         `json:"imageId"`
	IpxeURL                 *string         `json:"ipxeUrl"`
	ResourceGroupID         *string         `json:"resourceGroupId"`
	InstanceName            *string         `json:"instanceName"`
	Hostname                *string         `json:"hostname"`
	Amount                  *int            `json:"amount"`
	Password                *string         `json:"password"`
	KeyID                   *string         `json:"keyId"`
	SSHKeys                 []string        `json:"sshKeys"` // 2022-11-20 only
	InternetMaxBandwidthOut *int            `json:"internetMaxBandwidthOut"`
	TrafficPackageSize      *float64        `json:"trafficPackageSize"`
	SubnetID                *string         `json:"subnetId"`
	RaidConfig              *RaidConfig     `json:"raidConfig"`
	Partitions              []Partition     `json:"partitions"`
	Nic                     *Nic            `json:"nic"`
	UserData                *string         `json:"userData"`
	EnablePrimaryIPv6       *bool           `json:"enablePrimaryIPv6"`
	ClusterID               *string         `json:"clusterId"`
	MarketingOptions        *MarketingInfo  `json:"marketingOptions"`
	Tags                    *TagAssociation `json:"tags"`
	EnableGatewayMode       *bool           `json:"enableGatewayMode"`
}
