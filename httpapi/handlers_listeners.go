package httpapi

import (
	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// Listener and backend actions of the load balancers
// (handlers_loadbalancers.go).

type createListenerRequest struct {
	LoadBalancerID  *string                 `json:"loadBalancerId"`
	ListenerName    *string                 `json:"listenerName"`
	PortList        []int                   `json:"portList"`
	ClientToken     *string                 `json:"clientToken"`
	Protocol        *string                 `json:"protocol"`
	BackendProtocol *string                 `json:"backendProtocol"`
	Scheduler       *string                 `json:"scheduler"`
	Kind            *string                 `json:"kind"`
	HealthCheck     *metalplane.HealthCheck `json:"healthCheck"`
	Notify          *metalplane.Notify      `json:"notify"`
}

// listenerSettings checks the optional settings shared by CreateListener
// and ModifyListenerAttribute; an empty string counts as absent (the
// 2026-02-01 SDK may send one for an unset field).
func listenerSettings(protocol, backendProtocol, scheduler, kind *string, hc *metalplane.HealthCheck, notify *metalplane.Notify) error {
	for _, f := range []struct {
		name    string
		v       *string
		allowed []string
	}{
		{"protocol", protocol, metalplane.ListenerProtocols}, {"backendProtocol", backendProtocol, metalplane.ListenerProtocols},
		{"scheduler", scheduler, metalplane.ListenerSchedulers}, {"kind", kind, metalplane.ListenerKinds},
	} {
		if str(f.v) != "" {
			if err := checkEnum(f.name, *f.v, f.allowed...); err != nil {
				return err
			}
		}
	}
	if err := hc.Validate(); err != nil {
		return err
	}
	if err := notify.Validate(); err != nil {
		return err
	}
	return nil
}

// orDefault returns *p, or def when p is nil or empty.
func orDefault(p *string, def string) string {
	if str(p) == "" {
		return def
	}
	return *p
}

// handleCreateListener checks: loadBalancerId, listenerName, portList,
// protocol and backendProtocol present ([decision] clientToken is
// optional, as on CreateLoadBalancer: the CLI marks it required, the SDK
// sends it only when set), the bounds, the name, the ports, the settings;
// the store checks the load balancer, the port collisions and the token.
func handleCreateListener(r *request) (any, error) {
	var in createListenerRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	lbID, err := requiredID("loadBalancerId", in.LoadBalancerID)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"listenerName", in.ListenerName}, {"protocol", in.Protocol}, {"backendProtocol", in.BackendProtocol}} {
		if err := requireString(f.name, f.v); err != nil {
			return nil, err
		}
	}
	if err := metalplane.FirstError(metalplane.CheckID("clientToken", in.ClientToken), metalplane.CheckID("protocol", in.Protocol),
		metalplane.CheckID("backendProtocol", in.BackendProtocol), metalplane.CheckID("scheduler", in.Scheduler), metalplane.CheckID("kind", in.Kind),
		metalplane.ValidateLoadBalancerName("listenerName", *in.ListenerName)); err != nil {
		return nil, err
	}
	ports, portErr := metalplane.ValidatePorts("portList", in.PortList, true)
	if portErr != nil {
		return nil, portErr
	}
	if err := listenerSettings(in.Protocol, in.BackendProtocol, in.Scheduler, in.Kind, in.HealthCheck, in.Notify); err != nil {
		return nil, err
	}
	l := metalplane.Listener{
		Name: *in.ListenerName, Ports: ports, Protocol: *in.Protocol, BackendProtocol: *in.BackendProtocol,
		Scheduler: orDefault(in.Scheduler, metalplane.DefaultListenerScheduler), Kind: orDefault(in.Kind, metalplane.DefaultListenerKind),
	}
	if in.HealthCheck != nil {
		l.HealthCheck = *in.HealthCheck
	}
	if in.Notify != nil {
		l.Notify = *in.Notify
	}
	return r.server.DB.CreateListener(r.ctx, sqlstore.ListenerCreate{TeamID: r.caller.TeamID, LoadBalancerID: lbID, Listener: l, ClientToken: str(in.ClientToken)})
}

type describeListenersRequest struct {
	ListenerIDs     []string `json:"listenerIds"`
	LoadBalancerIDs []string `json:"loadBalancerIds"`
	ListenerName    *string  `json:"listenerName"`
	PageNum         *int     `json:"pageNum"`
	PageSize        *int     `json:"pageSize"`
}

type describeListenersResponse struct {
	TotalCount int            `json:"totalCount"`
	DataSet    []listenerInfo `json:"dataSet"`
}

// handleDescribeListeners lists the team's listeners; listenerName matches
// names that contain it (fuzzy, docs).
func handleDescribeListeners(r *request) (any, error) {
	var in describeListenersRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(metalplane.CheckIDList("listenerIds", in.ListenerIDs, metalplane.MaxListItems),
		metalplane.CheckIDList("loadBalancerIds", in.LoadBalancerIDs, metalplane.MaxListItems),
		metalplane.CheckLength("listenerName", in.ListenerName, metalplane.MaxLoadBalancerNameLength)); err != nil {
		return nil, err
	}
	num, size, err := pageParams(in.PageNum, in.PageSize)
	if err != nil {
		return nil, err
	}
	ls, total, err := r.server.DB.FindListeners(r.ctx, sqlstore.ListenerFilter{TeamID: r.caller.TeamID, IDs: in.ListenerIDs,
		LoadBalancerIDs: in.LoadBalancerIDs, Name: str(in.ListenerName), PageNum: num, PageSize: size})
	if err != nil {
		return nil, err
	}
	out := describeListenersResponse{TotalCount: total, DataSet: make([]listenerInfo, 0, len(ls))}
	for _, l := range ls {
		out.DataSet = append(out.DataSet, toListenerInfo(l))
	}
	return out, nil
}

type modifyListenerAttributeRequest struct {
	ListenerID      *string                 `json:"listenerId"`
	ListenerName    *string                 `json:"listenerName"`
	Protocol        *string                 `json:"protocol"`
	BackendProtocol *string                 `json:"backendProtocol"`
	Scheduler       *string                 `json:"scheduler"`
	Kind            *string                 `json:"kind"`
	HealthCheck     *metalplane.HealthCheck `json:"healthCheck"`
	Notify          *metalplane.Notify      `json:"notify"`
}

// handleModifyListenerAttribute changes the fields given; an empty string
// changes nothing. A healthCheck or notify given replaces the whole
// object [decision]: the SDK sends the object as the caller built it.
func handleModifyListenerAttribute(r *request) (any, error) {
	var in modifyListenerAttributeRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("listenerId", in.ListenerID)
	if err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(metalplane.CheckID("protocol", in.Protocol), metalplane.CheckID("backendProtocol", in.BackendProtocol),
		metalplane.CheckID("scheduler", in.Scheduler), metalplane.CheckID("kind", in.Kind)); err != nil {
		return nil, err
	}
	if str(in.ListenerName) != "" {
		if err := metalplane.ValidateLoadBalancerName("listenerName", *in.ListenerName); err != nil {
			return nil, err
		}
	}
	if err := listenerSettings(in.Protocol, in.BackendProtocol, in.Scheduler, in.Kind, in.HealthCheck, in.Notify); err != nil {
		return nil, err
	}
	set := func(p *string) *string {
		if str(p) == "" {
			return nil
		}
		return p
	}
	upd := sqlstore.ListenerUpdate{Name: set(in.ListenerName), Protocol: set(in.Protocol), BackendProtocol: set(in.BackendProtocol),
		Scheduler: set(in.Scheduler), Kind: set(in.Kind), HealthCheck: in.HealthCheck, Notify: in.Notify}
	if err := r.server.DB.ModifyListener(r.ctx, r.caller.TeamID, id, upd); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type deleteListenerRequest struct {
	ListenerID *string `json:"listenerId"`
}

func handleDeleteListener(r *request) (any, error) {
	var in deleteListenerRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("listenerId", in.ListenerID)
	if err != nil {
		return nil, err
	}
	if err := r.server.DB.DeleteListener(r.ctx, r.caller.TeamID, id); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type describeBackendsRequest struct {
	ListenerID   *string  `json:"listenerId"`
	BackendIDs   []string `json:"backendIds"`
	BackendName  *string  `json:"backendName"`
	InstanceType *string  `json:"instanceType"`
	PageNum      *int     `json:"pageNum"`
	PageSize     *int     `json:"pageSize"`
}

type describeBackendsResponse struct {
	TotalCount int           `json:"totalCount"`
	DataSet    []backendInfo `json:"dataSet"`
}

// checkInstanceType checks the CLI's instanceType: BM, or VM, which names
// no instance here (INVALID_PARAMETER).
func checkInstanceType(v *string) error {
	if str(v) == "" {
		return nil
	}
	return checkEnum("instanceType", *v, instanceTypeBM)
}

// handleDescribeBackends lists the backends of the team's listener (an
// unknown listener has none); backendName matches exactly.
func handleDescribeBackends(r *request) (any, error) {
	var in describeBackendsRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	listenerID, err := requiredID("listenerId", in.ListenerID)
	if err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(metalplane.CheckIDList("backendIds", in.BackendIDs, metalplane.MaxListItems),
		metalplane.CheckLength("backendName", in.BackendName, metalplane.MaxLoadBalancerNameLength), metalplane.CheckID("instanceType", in.InstanceType)); err != nil {
		return nil, err
	}
	if err := checkInstanceType(in.InstanceType); err != nil {
		return nil, err
	}
	num, size, err := pageParams(in.PageNum, in.PageSize)
	if err != nil {
		return nil, err
	}
	bs, total, err := r.server.DB.FindBackends(r.ctx, sqlstore.BackendFilter{TeamID: r.caller.TeamID, ListenerID: listenerID, IDs: in.BackendIDs,
		Name: str(in.BackendName), PageNum: num, PageSize: size})
	if err != nil {
		return nil, err
	}
	out := describeBackendsResponse{TotalCount: total, DataSet: make([]backendInfo, 0, len(bs))}
	for _, b := range bs {
		out.DataSet = append(out.DataSet, toBackendInfo(b))
	}
	return out, nil
}

type registerBackendRequest struct {
	ListenerID   *string `json:"listenerId"`
	BackendName  *string `json:"backendName"`
	InstanceID   *string `json:"instanceId"`
	InstanceType *string `json:"instanceType"`
	ClientToken  *string `json:"clientToken"`
	PortList     []int   `json:"portList"`
	Weight       *int    `json:"weight"`
}

// handleRegisterBackend checks listenerId, backendName and instanceId
// present, the bounds, the name, instanceType, the ports (none: the
// listener's) and the weight (default 100); the store checks the listener,
// the instance and the token.
func handleRegisterBackend(r *request) (any, error) {
	var in registerBackendRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	listenerID, err := requiredID("listenerId", in.ListenerID)
	if err != nil {
		return nil, err
	}
	if err := requireString("backendName", in.BackendName); err != nil {
		return nil, err
	}
	instanceID, err := requiredID("instanceId", in.InstanceID)
	if err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(metalplane.CheckID("clientToken", in.ClientToken), metalplane.CheckID("instanceType", in.InstanceType),
		metalplane.ValidateLoadBalancerName("backendName", *in.BackendName)); err != nil {
		return nil, err
	}
	if err := checkInstanceType(in.InstanceType); err != nil {
		return nil, err
	}
	ports, portErr := metalplane.ValidatePorts("portList", in.PortList, false)
	if portErr != nil {
		return nil, portErr
	}
	weight := metalplane.DefaultBackendWeight
	if in.Weight != nil {
		if err := metalplane.ValidateWeight(*in.Weight); err != nil {
			return nil, err
		}
		weight = *in.Weight
	}
	return r.server.DB.RegisterBackend(r.ctx, sqlstore.BackendCreate{TeamID: r.caller.TeamID, ListenerID: listenerID, InstanceID: instanceID,
		Name: *in.BackendName, Ports: ports, Weight: weight, ClientToken: str(in.ClientToken)})
}

type backendIDRequest struct {
	BackendID *string `json:"backendId"`
	Weight    *int    `json:"weight"`
}

// handleModifyBackendWeight sets a backend's weight (2022-11-20 only).
func handleModifyBackendWeight(r *request) (any, error) {
	var in backendIDRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("backendId", in.BackendID)
	if err != nil {
		return nil, err
	}
	if in.Weight == nil {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "weight is required.")
	}
	if err := metalplane.ValidateWeight(*in.Weight); err != nil {
		return nil, err
	}
	if err := r.server.DB.ModifyBackendWeight(r.ctx, r.caller.TeamID, id, *in.Weight); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func handleDeregisterBackend(r *request) (any, error) {
	var in struct {
		BackendID *string `json:"backendId"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	id, err := requiredID("backendId", in.BackendID)
	if err != nil {
		return nil, err
	}
	if err := r.server.DB.DeregisterBackend(r.ctx, r.caller.TeamID, id); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
