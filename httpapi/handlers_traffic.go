package httpapi

import (
	"strings"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// Traffic data and managed instances (issue 14). [decision] metalplane
// manages every server it sells, so the "managed instances" of a team are
// its bare-metal instances (not released): DescribeManagedInstances lists
// them in the managed shape, and DescribeManagedInstanceTraffic answers
// what DescribeInstanceTraffic does.

type trafficPoint struct {
	InternetRX int64  `json:"internetRX"`
	InternetTX int64  `json:"internetTX"`
	Time       string `json:"time"`
}

// trafficResponse is the answer of both traffic actions; every field is
// always present, the 95th-percentile times "" when there is no sample.
type trafficResponse struct {
	DataList                []trafficPoint `json:"dataList"`
	In95                    int64          `json:"in95"`
	In95Time                string         `json:"in95Time"`
	InAvg                   int64          `json:"inAvg"`
	InMax                   int64          `json:"inMax"`
	InMin                   int64          `json:"inMin"`
	InTotal                 int64          `json:"inTotal"`
	Out95                   int64          `json:"out95"`
	Out95Time               string         `json:"out95Time"`
	OutAvg                  int64          `json:"outAvg"`
	OutMax                  int64          `json:"outMax"`
	OutMin                  int64          `json:"outMin"`
	OutTotal                int64          `json:"outTotal"`
	MaxBandwidth95ValueMbps float64        `json:"maxBandwidth95ValueMbps"`
	TotalUnit               string         `json:"totalUnit"`
	Unit                    string         `json:"unit"`
}

// handleInstanceTraffic serves DescribeInstanceTraffic and
// DescribeManagedInstanceTraffic. Check order ([decision]): instanceId,
// startTime, endTime present (MISSING_PARAMETER); the window
// (metalplane.ParseTrafficWindow); the instance is the team's
// (INVALID_INSTANCE_NOT_FOUND). One sample per five minutes from the
// instance's createTime until the last interval that has ended; an instance
// in the recycle bin still reports its history.
func handleInstanceTraffic(r *request) (any, error) {
	var in struct {
		InstanceID *string `json:"instanceId"`
		StartTime  *string `json:"startTime"`
		EndTime    *string `json:"endTime"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("instanceId", in.InstanceID)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"startTime", in.StartTime}, {"endTime", in.EndTime}} {
		if _, err := requiredID(f.name, f.v); err != nil {
			return nil, err
		}
	}
	now := r.server.now()
	from, to, werr := metalplane.ParseTrafficWindow(*in.StartTime, *in.EndTime, now)
	if werr != nil {
		return nil, werr
	}
	inst, err := r.server.DB.FindInstance(r.ctx, r.caller.TeamID, id)
	if err != nil {
		return nil, err
	}
	out := trafficResponse{DataList: []trafficPoint{}, TotalUnit: "B", Unit: "bps"}
	times := metalplane.SampleTimes(from, to, inst.CreateTime, now)
	if r.server.Traffic == nil || len(times) == 0 {
		return out, nil
	}
	samples, err := r.server.Traffic.InstanceTraffic(r.ctx, metalplane.TrafficSubject{
		InstanceID: inst.ID, ZoneID: inst.ZoneID, InternetChargeType: inst.InternetChargeType,
		BandwidthMbps: inst.BandwidthOutMbps, TrafficPackageTB: inst.TrafficPackageTB,
	}, times)
	if err != nil {
		return nil, err
	}
	for _, s := range samples {
		out.DataList = append(out.DataList, trafficPoint{InternetRX: s.InBps, InternetTX: s.OutBps, Time: wireTime(s.Time)})
	}
	st := metalplane.SummariseTraffic(samples)
	out.In95, out.InAvg, out.InMax, out.InMin, out.InTotal = st.In95, st.InAvg, st.InMax, st.InMin, st.InTotal
	out.Out95, out.OutAvg, out.OutMax, out.OutMin, out.OutTotal = st.Out95, st.OutAvg, st.OutMax, st.OutMin, st.OutTotal
	out.In95Time, out.Out95Time = wireTime(st.In95Time), wireTime(st.Out95Time)
	out.MaxBandwidth95ValueMbps = float64(max(st.In95, st.Out95)) / 1e6
	return out, nil
}

type managedInstanceInfo struct {
	InstanceID   string   `json:"instanceId"`
	InstanceName string   `json:"instanceName"`
	FacName      string   `json:"facName"`
	IPs          []string `json:"ips"`
	LanIPs       []string `json:"lanIps"`
	CreateTime   string   `json:"createTime"`
}

// handleDescribeManagedInstances lists the team's instances in the managed
// shape: facName is the zone's name, ips the public addresses, lanIps the
// private one. Filters ([decision]): instanceName exact (or a prefix ending
// in '*', as DescribeInstances), ip a public and lanIp a private address,
// facName a zone name and cityCode the city part of zone IDs (SEL of
// SEL-A); unknown values match nothing.
func handleDescribeManagedInstances(r *request) (any, error) {
	var in struct {
		InstanceIDs     []string `json:"instanceIds"`
		InstanceName    *string  `json:"instanceName"`
		IP              *string  `json:"ip"`
		LanIP           *string  `json:"lanIp"`
		FacName         *string  `json:"facName"`
		CityCode        *string  `json:"cityCode"`
		PageNum         *int     `json:"pageNum"`
		PageSize        *int     `json:"pageSize"`
		ResourceGroupID *string  `json:"resourceGroupId"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(
		metalplane.CheckIDList("instanceIds", in.InstanceIDs, metalplane.MaxListItems),
		metalplane.CheckLength("instanceName", in.InstanceName, metalplane.MaxNameLength+1),
		metalplane.CheckID("ip", in.IP), metalplane.CheckID("lanIp", in.LanIP), metalplane.CheckLength("facName", in.FacName, metalplane.MaxNameLength),
		metalplane.CheckID("cityCode", in.CityCode), metalplane.CheckID("resourceGroupId", in.ResourceGroupID),
	); err != nil {
		return nil, err
	}
	num, size, err := pageParams(in.PageNum, in.PageSize)
	if err != nil {
		return nil, err
	}
	f := sqlstore.InstanceFilter{TeamID: r.caller.TeamID, IDs: in.InstanceIDs, Name: deref(in.InstanceName),
		ResourceGroupID: deref(in.ResourceGroupID), Offset: pageOffset(num, size), Limit: size}
	if v := deref(in.IP); v != "" {
		f.PublicIPs = []string{v}
	}
	if v := deref(in.LanIP); v != "" {
		f.PrivateIPs = []string{v}
	}
	fac, city := deref(in.FacName), deref(in.CityCode)
	if fac != "" || city != "" {
		f.ZoneIDs = []string{}
		for _, z := range r.server.Catalog.Zones {
			zoneCity, _, _ := strings.Cut(z.ID, "-")
			if (fac == "" || fac == z.Name) && (city == "" || city == zoneCity) {
				f.ZoneIDs = append(f.ZoneIDs, z.ID)
			}
		}
	}
	found, total, err := r.server.DB.FindInstances(r.ctx, f)
	if err != nil {
		return nil, err
	}
	data := make([]managedInstanceInfo, len(found))
	for i, inst := range found {
		m := managedInstanceInfo{InstanceID: inst.ID, InstanceName: inst.Name, IPs: []string{}, LanIPs: []string{}, CreateTime: wireTime(inst.CreateTime)}
		if z, ok := r.server.Catalog.FindZone(inst.ZoneID); ok {
			m.FacName = z.Name
		}
		for _, ip := range []string{inst.PublicIPv4, inst.PublicIPv6} {
			if ip != "" {
				m.IPs = append(m.IPs, ip)
			}
		}
		if inst.PrivateIP != "" {
			m.LanIPs = append(m.LanIPs, inst.PrivateIP)
		}
		data[i] = m
	}
	return map[string]any{"totalCount": total, "dataSet": data}, nil
}
