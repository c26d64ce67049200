package metalplane

import "hash/fnv"

// InstanceHealth is the simulated hardware health of an instance
// (DescribeInstancesMonitorHealth). Nil temperatures are "not
// retrievable".
//
// [decision] metalplane has no hardware sensors behind the sim driver, so
// the values are derived from the instance state and its id, the same on
// every call:
//   - PENDING, CREATING, CREATE_FAILED, RECYCLE: the server is not (or no
//     longer) the customer's: every status UNKNOWN, no temperatures.
//   - powered on (RUNNING, BOOTING, STOPPING, INSTALLING, INSTALL_FAILED):
//     every status OK; one CPU temperature per physical CPU of the type
//     (cpu0Temp…cpu2Temp), 38–57 ℃, and an inlet temperature, 20–27 ℃.
//   - STOPPED: the BMC still answers (ipmiPing, ipmiStatus, psu, fan OK and
//     the inlet temperature), the host is off: cpu, memory and disk
//     UNKNOWN, the public port WARNING (link down), no CPU temperatures.
//
// cpuTemp (single-CPU Supermicro blades) is never reported; serverBrand is
// "metalplane" and serverModel the instance type.
type InstanceHealth struct {
	InstanceID    string
	CPUStatus     string
	DiskStatus    string
	IPMIPing      string
	IPMIStatus    string
	MemoryStatus  string
	PSUStatus     string
	WanPortStatus string
	FanStatus     string
	ServerBrand   string
	ServerModel   string
	CPUTemp       *int
	CPU0Temp      *int
	CPU1Temp      *int
	CPU2Temp      *int
	InletTemp     *int
	TempUnit      string
}

// Health status values.
const (
	HealthOK       = "OK"
	HealthWarning  = "WARNING"
	HealthCritical = "CRITICAL"
	HealthUnknown  = "UNKNOWN"
)

// HealthOf returns the simulated health of the instance; cpuCount is the
// number of physical CPUs of its type.
func HealthOf(in *Instance, cpuCount int) InstanceHealth {
	h := InstanceHealth{InstanceID: in.ID, ServerBrand: "metalplane", ServerModel: in.InstanceTypeID, TempUnit: "℃"}
	all := func(s string) {
		h.CPUStatus, h.DiskStatus, h.IPMIPing, h.IPMIStatus, h.MemoryStatus, h.PSUStatus, h.WanPortStatus, h.FanStatus = s, s, s, s, s, s, s, s
	}
	seed := fnv.New32a()
	seed.Write([]byte(in.ID))
	n := seed.Sum32()
	inlet := 20 + int(n%8)
	switch in.Status {
	case StatusPending, StatusCreating, StatusCreateFailed, StatusRecycle:
		all(HealthUnknown)
	case StatusStopped:
		all(HealthOK)
		h.CPUStatus, h.MemoryStatus, h.DiskStatus, h.WanPortStatus = HealthUnknown, HealthUnknown, HealthUnknown, HealthWarning
		h.InletTemp = &inlet
	default:
		all(HealthOK)
		h.InletTemp = &inlet
		temps := []**int{&h.CPU0Temp, &h.CPU1Temp, &h.CPU2Temp}
		for i := 0; i < cpuCount && i < len(temps); i++ {
			v := 38 + int((n>>(4*(i+1)))%20)
			*temps[i] = &v
		}
	}
	return h
}
