package httpapi

import (
	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// The public network actions of an existing instance: bandwidth cap and
// traffic package changes, their prices and cancellation, their status,
// and the simulated hardware health. How a change takes effect is decided
// in metalplane/internet.go.

type internetStatusRequest struct {
	InstanceID *string `json:"instanceId"`
}

// internetStatusInfo is the output of DescribeInstanceInternetStatus
// (ACTIONS.md §3.12). Every field is always present: Terraform
// dereferences internetMaxBandwidthOut.
type internetStatusInfo struct {
	InstanceID                      string  `json:"instanceId"`
	InstanceName                    string  `json:"instanceName"`
	InternetMaxBandwidthOut         int     `json:"internetMaxBandwidthOut"`
	ModifiedInternetMaxBandwidthOut int     `json:"modifiedInternetMaxBandwidthOut"`
	ModifiedBandwidthStatus         string  `json:"modifiedBandwidthStatus"`
	TrafficPackageSize              float64 `json:"trafficPackageSize"`
	ModifiedTrafficPackageSize      float64 `json:"modifiedTrafficPackageSize"`
	ModifiedTrafficPackageStatus    string  `json:"modifiedTrafficPackageStatus"`
}

// handleDescribeInstanceInternetStatus reports the current values and any
// scheduled downgrade. [decision] With nothing pending, the modified*
// fields repeat the current values with status Enable (the last change, if
// any, is in effect); trafficPackageSize is 0 for instances not billed
// ByTrafficPackage. Recycled instances are reported too.
func handleDescribeInstanceInternetStatus(r *request) (any, error) {
	var in internetStatusRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if _, err := requiredID("instanceId", in.InstanceID); err != nil {
		return nil, err
	}
	st, err := r.server.DB.FindInternetStatus(r.ctx, r.caller.TeamID, *in.InstanceID)
	if err != nil {
		return nil, err
	}
	inst := st.Instance
	out := internetStatusInfo{
		InstanceID: inst.ID, InstanceName: inst.Name,
		InternetMaxBandwidthOut: inst.BandwidthOutMbps, ModifiedInternetMaxBandwidthOut: inst.BandwidthOutMbps,
		ModifiedBandwidthStatus: metalplane.InternetStatusEnable, ModifiedTrafficPackageStatus: metalplane.InternetStatusEnable,
	}
	if inst.InternetChargeType == metalplane.InternetByTrafficPackage {
		out.TrafficPackageSize, out.ModifiedTrafficPackageSize = inst.TrafficPackageTB, inst.TrafficPackageTB
	}
	if p := st.Pending[metalplane.ChangeBandwidth]; p != nil {
		out.ModifiedInternetMaxBandwidthOut, out.ModifiedBandwidthStatus = p.BandwidthMbps, metalplane.InternetStatusWaitToEnable
	}
	if p := st.Pending[metalplane.ChangeTraffic]; p != nil {
		out.ModifiedTrafficPackageSize, out.ModifiedTrafficPackageStatus = p.TrafficPackageTB, metalplane.InternetStatusWaitToEnable
	}
	return out, nil
}

type bandwidthRequest struct {
	InstanceID       *string `json:"instanceId"`
	BandwidthOutMbps *int    `json:"bandwidthOutMbps"`
}

type trafficPackageRequest struct {
	InstanceID         *string  `json:"instanceId"`
	TrafficPackageSize *float64 `json:"trafficPackageSize"`
}

// decodeInternetChange reads the request of a Modify or InquiryPrice
// action of kind and checks its form: instanceId and the target present
// (MISSING_PARAMETER), bandwidth ≥ 1 (INVALID_PARAMETER), traffic package
// a non-negative multiple of 0.05 TB
// (INVALID_PARAMETER_TRAFFIC_PACKAGE_ERROR).
func decodeInternetChange(r *request, kind metalplane.InternetChangeKind) (string, metalplane.InternetChangeRequest, error) {
	req := metalplane.InternetChangeRequest{Kind: kind}
	if kind == metalplane.ChangeBandwidth {
		var in bandwidthRequest
		if err := r.decode(&in); err != nil {
			return "", req, err
		}
		if _, err := requiredID("instanceId", in.InstanceID); err != nil {
			return "", req, err
		}
		if in.BandwidthOutMbps == nil {
			return "", req, metalplane.Errorf("MISSING_PARAMETER", "bandwidthOutMbps is required.")
		}
		if err := metalplane.ValidateBandwidthTarget(*in.BandwidthOutMbps); err != nil {
			return "", req, err
		}
		req.BandwidthMbps = *in.BandwidthOutMbps
		return *in.InstanceID, req, nil
	}
	var in trafficPackageRequest
	if err := r.decode(&in); err != nil {
		return "", req, err
	}
	if _, err := requiredID("instanceId", in.InstanceID); err != nil {
		return "", req, err
	}
	if in.TrafficPackageSize == nil {
		return "", req, metalplane.Errorf("MISSING_PARAMETER", "trafficPackageSize is required.")
	}
	if err := metalplane.ValidateTrafficTarget(*in.TrafficPackageSize); err != nil {
		return "", req, err
	}
	req.TrafficPackageTB = *in.TrafficPackageSize
	return *in.InstanceID, req, nil
}

// checkInternetChange applies the rules of a Modify action to the locked
// instance, in this order [decision]: recycle bin and state (bandwidth:
// RUNNING only, else OPERATION_DENIED_INSTANCE_NOT_RUNNING; traffic
// package: RUNNING or STOPPED, else OPERATION_DENIED_INSTANCE_STATUS;
// PENDING/CREATING: OPERATION_DENIED_INSTANCE_CREATING), the charge type
// (traffic packages need ByTrafficPackage; the bandwidth cap of every
// charge type may change), the offer still sold
// (INVALID_INSTANCE_TYPE_ZONE_NO_SELL), the target's bounds, then a
// scheduled downgrade of the same kind (bandwidth:
// OPERATION_FAILED_INSTANCE_BANDWIDTH_PROCESSING, traffic:
// OPERATION_FAILED_INSTANCE_EXIST_PLAN_TRAFFIC_PACKAGE).
func checkInternetChange(cat *metalplane.Catalog, in *metalplane.Instance, req metalplane.InternetChangeRequest, pending *metalplane.PendingInternetChange) (*metalplane.Offer, error) {
	if req.Kind == metalplane.ChangeBandwidth {
		if err := metalplane.CheckInternetState(in, "OPERATION_DENIED_INSTANCE_NOT_RUNNING", metalplane.StatusRunning); err != nil {
			return nil, err
		}
	} else {
		if err := metalplane.CheckInternetState(in, "OPERATION_DENIED_INSTANCE_STATUS", metalplane.StatusRunning, metalplane.StatusStopped); err != nil {
			return nil, err
		}
		if err := metalplane.CheckInternetChargeType(in, req.Kind); err != nil {
			return nil, err
		}
	}
	offer, err := metalplane.InstanceOffer(cat, in)
	if err != nil {
		return nil, err
	}
	if err := metalplane.CheckInternetTarget(cat, in, offer, req); err != nil {
		return nil, err
	}
	if pending != nil {
		if req.Kind == metalplane.ChangeBandwidth {
			return nil, metalplane.Errorf("OPERATION_FAILED_INSTANCE_BANDWIDTH_PROCESSING",
				"A downgrade to %d Mbps is scheduled for %s; cancel it first.", pending.BandwidthMbps, APITime(pending.EffectiveAt))
		}
		return nil, metalplane.Errorf("OPERATION_FAILED_INSTANCE_EXIST_PLAN_TRAFFIC_PACKAGE",
			"A downgrade to %g TB is scheduled for %s; cancel it first.", pending.TrafficPackageTB, APITime(pending.EffectiveAt))
	}
	return offer, nil
}

func modifyInternet(r *request, kind metalplane.InternetChangeKind) (any, error) {
	id, req, err := decodeInternetChange(r, kind)
	if err != nil {
		return nil, err
	}
	cat, db := r.server.Catalog, r.server.DB
	return db.ModifyInternet(r.ctx, r.caller.TeamID, id, req,
		func(in *metalplane.Instance, pending *metalplane.PendingInternetChange) (*metalplane.InternetChangePlan, error) {
			offer, err := checkInternetChange(cat, in, req, pending)
			if err != nil {
				return nil, err
			}
			plan, err := metalplane.PlanInternetChange(in, offer, req, db.Now())
			if err != nil {
				return nil, err
			}
			return &plan, nil
		})
}

// handleModifyInstanceBandwidth changes the bandwidth cap
// (bandwidthOutMbps) and answers the orderNumber of the change.
func handleModifyInstanceBandwidth(r *request) (any, error) {
	return modifyInternet(r, metalplane.ChangeBandwidth)
}

// handleModifyInstanceTrafficPackage changes the traffic package
// (trafficPackageSize, TB) and answers the orderNumber of the change.
func handleModifyInstanceTrafficPackage(r *request) (any, error) {
	return modifyInternet(r, metalplane.ChangeTraffic)
}

// inquiryInternet prices the instance with the target value: PREPAID for
// one whole period of the instance, POSTPAID per hour, as
// InquiryPriceCreateInstance prices them. [decision] The amount debited by
// an upgrade is the prorated difference (metalplane.ProrateUpgrade), not
// this price. Check order: form, instance (INVALID_INSTANCE_NOT_FOUND),
// recycle bin, charge type (ByBandwidth / ByTrafficPackage, else
// OPERATION_DENIED_INTERNET_CHARGE_TYPE_NOT_SUPPORT), offer
// (INVALID_INSTANCE_TYPE_ZONE_NO_SELL), target bounds.
func inquiryInternet(r *request, kind metalplane.InternetChangeKind) (metalplane.Quote, string, error) {
	id, req, err := decodeInternetChange(r, kind)
	if err != nil {
		return metalplane.Quote{}, "", err
	}
	in, err := r.server.DB.FindInstance(r.ctx, r.caller.TeamID, id)
	if err != nil {
		return metalplane.Quote{}, "", err
	}
	if err := metalplane.CheckInternetState(in, ""); err != nil {
		return metalplane.Quote{}, "", err
	}
	if err := metalplane.CheckInternetChargeType(in, kind); err != nil {
		return metalplane.Quote{}, "", err
	}
	offer, offerErr := metalplane.InstanceOffer(r.server.Catalog, in)
	if offerErr != nil {
		return metalplane.Quote{}, "", offerErr
	}
	if err := metalplane.CheckInternetTarget(r.server.Catalog, in, offer, req); err != nil {
		return metalplane.Quote{}, "", err
	}
	q, err := metalplane.InternetPrice(in, offer, req)
	if err != nil {
		return metalplane.Quote{}, "", err
	}
	return q, in.ChargeType, nil
}

// handleInquiryPriceInstanceBandwidth answers bandwidthPrice: one item,
// the price of the bandwidth above the offer's included bandwidth.
func handleInquiryPriceInstanceBandwidth(r *request) (any, error) {
	q, chargeType, err := inquiryInternet(r, metalplane.ChangeBandwidth)
	if err != nil {
		return nil, err
	}
	return map[string]any{"bandwidthPrice": []priceItem{toPriceItem(q.Bandwidth, chargeType, "Mbps")}}, nil
}

// handleInquiryPriceInstanceTrafficPackage answers trafficPackagePrice:
// one item, the price of the package above the offer's free package.
func handleInquiryPriceInstanceTrafficPackage(r *request) (any, error) {
	q, chargeType, err := inquiryInternet(r, metalplane.ChangeTraffic)
	if err != nil {
		return nil, err
	}
	return map[string]any{"trafficPackagePrice": []priceItem{toPriceItem(q.Traffic, chargeType, "TB")}}, nil
}

func cancelDowngrade(r *request, kind metalplane.InternetChangeKind) (any, error) {
	var in internetStatusRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if _, err := requiredID("instanceId", in.InstanceID); err != nil {
		return nil, err
	}
	err := r.server.DB.CancelInternetDowngrade(r.ctx, r.caller.TeamID, *in.InstanceID, kind, func(inst *metalplane.Instance) error {
		if err := metalplane.CheckInternetState(inst, ""); err != nil {
			return err
		}
		if err := metalplane.CheckInternetChargeType(inst, kind); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// handleCancelInstanceBandwidthDowngrade removes a scheduled bandwidth
// downgrade. Check order: instance, recycle bin, ByBandwidth
// (OPERATION_DENIED_INTERNET_CHARGE_TYPE_NOT_SUPPORT), a scheduled
// downgrade (OPERATION_DENIED_DOWNGRADE_NOT_EXIST).
func handleCancelInstanceBandwidthDowngrade(r *request) (any, error) {
	return cancelDowngrade(r, metalplane.ChangeBandwidth)
}

// handleCancelInstanceTrafficPackageDowngrade is the same for traffic
// packages (ByTrafficPackage).
func handleCancelInstanceTrafficPackageDowngrade(r *request) (any, error) {
	return cancelDowngrade(r, metalplane.ChangeTraffic)
}

// maxHealthInstances bounds instanceIds of DescribeInstancesMonitorHealth
// (docs: at most 10 per request).
const maxHealthInstances = 10

// instanceHealthInfo is one item of monitorHealthList.
type instanceHealthInfo struct {
	InstanceID    string `json:"instanceId"`
	CPUStatus     string `json:"cpuStatus"`
	DiskStatus    string `json:"diskStatus"`
	IPMIPing      string `json:"ipmiPing"`
	IPMIStatus    string `json:"ipmiStatus"`
	MemoryStatus  string `json:"memoryStatus"`
	PSUStatus     string `json:"psuStatus"`
	WanPortStatus string `json:"wanPortStatus"`
	FanStatus     string `json:"fanStatus"`
	ServerBrand   string `json:"serverBrand"`
	ServerModel   string `json:"serverModel"`
	CPUTemp       *int   `json:"cpuTemp"`
	CPU0Temp      *int   `json:"cpu0Temp"`
	CPU1Temp      *int   `json:"cpu1Temp"`
	CPU2Temp      *int   `json:"cpu2Temp"`
	InletTemp     *int   `json:"inletTemp"`
	TempUnit      string `json:"tempUnit"`
}

// handleDescribeInstancesMonitorHealth answers the simulated health of
// 1–10 of the team's instances (metalplane.HealthOf), one item per distinct
// ID in request order. [decision] instanceIds empty → MISSING_PARAMETER,
// more than 10 → INVALID_PARAMETER, any unknown ID fails the whole request
// with INVALID_INSTANCE_NOT_FOUND.
func handleDescribeInstancesMonitorHealth(r *request) (any, error) {
	var in struct {
		InstanceIDs []string `json:"instanceIds"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if len(in.InstanceIDs) == 0 {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "instanceIds is required.")
	}
	if err := metalplane.CheckIDList("instanceIds", in.InstanceIDs, maxHealthInstances); err != nil {
		return nil, err
	}
	ids := uniqueIDs(in.InstanceIDs)
	found, _, err := r.server.DB.FindInstances(r.ctx, sqlstore.InstanceFilter{TeamID: r.caller.TeamID, IDs: ids})
	if err != nil {
		return nil, err
	}
	byID := map[string]*metalplane.Instance{}
	for _, inst := range found {
		byID[inst.ID] = inst
	}
	list := make([]instanceHealthInfo, 0, len(ids))
	for _, id := range ids {
		inst, ok := byID[id]
		if !ok {
			return nil, metalplane.Errorf("INVALID_INSTANCE_NOT_FOUND", "The instance %s does not exist.", id)
		}
		cpus := 1
		if t, ok := r.server.Catalog.FindInstanceType(inst.InstanceTypeID); ok {
			cpus = t.CPUCount
		}
		h := metalplane.HealthOf(inst, cpus)
		list = append(list, instanceHealthInfo{
			InstanceID: h.InstanceID, CPUStatus: h.CPUStatus, DiskStatus: h.DiskStatus, IPMIPing: h.IPMIPing, IPMIStatus: h.IPMIStatus,
			MemoryStatus: h.MemoryStatus, PSUStatus: h.PSUStatus, WanPortStatus: h.WanPortStatus, FanStatus: h.FanStatus,
			ServerBrand: h.ServerBrand, ServerModel: h.ServerModel, CPUTemp: h.CPUTemp, CPU0Temp: h.CPU0Temp, CPU1Temp: h.CPU1Temp,
			CPU2Temp: h.CPU2Temp, InletTemp: h.InletTemp, TempUnit: h.TempUnit,
		})
	}
	return map[string]any{"monitorHealthList": list}, nil
}

// uniqueIDs returns ids without repeats, in first-seen order.
func uniqueIDs(ids []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
