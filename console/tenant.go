package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/httpapi"
)

// Tenant pages: every read and every change is an API action run for the
// session's key (Server.call), so the console shows and does exactly what
// the API would.

// instanceRow is an instance as the pages show it.
type instanceRow struct {
	InstanceID     string   `json:"instanceId"`
	InstanceName   string   `json:"instanceName"`
	ZoneID         string   `json:"zoneId"`
	InstanceTypeID string   `json:"instanceTypeId"`
	InstanceStatus string   `json:"instanceStatus"`
	ChargeType     string   `json:"instanceChargeType"`
	PublicIPs      []string `json:"publicIpAddresses"`
	PrivateIPs     []string `json:"privateIpAddresses"`
	CreateTime     string   `json:"createTime"`
	// Progress is set for an instance at work.
	Progress *httpapi.InstanceProgress `json:"-"`
}

// CanStop and CanStart say which buttons an instance shows; the API
// decides whether the action is allowed.
func (in instanceRow) CanStop() bool  { return in.InstanceStatus == string(metalplane.StatusRunning) }
func (in instanceRow) CanStart() bool { return in.InstanceStatus == string(metalplane.StatusStopped) }

// StepNumber is the step in progress, counted from 1.
func (in instanceRow) StepNumber() int {
	if in.Progress == nil {
		return 0
	}
	return min(in.Progress.StepsDone+1, in.Progress.TotalSteps)
}

// describe lists the session's instances (DescribeInstances, one page of
// up to 100, newest last) with the progress of those at work.
func (s *Server) describe(r *http.Request, sess *session, ids []string) ([]instanceRow, int, error) {
	var out struct {
		DataSet    []instanceRow `json:"dataSet"`
		TotalCount int           `json:"totalCount"`
	}
	in := map[string]any{"pageSize": 100, "pageNum": 1}
	if len(ids) > 0 {
		in["instanceIds"] = ids
	}
	if err := s.call(r.Context(), sess, "DescribeInstances", in, &out); err != nil {
		return nil, 0, err
	}
	var working []string
	for _, in := range out.DataSet {
		if slices.Contains(metalplane.TransientStatuses, metalplane.InstanceStatus(in.InstanceStatus)) {
			working = append(working, in.InstanceID)
		}
	}
	if len(working) > 0 {
		var progress struct {
			DataSet []httpapi.InstanceProgress `json:"dataSet"`
		}
		if err := s.call(r.Context(), sess, "DescribeInstancesProgress", map[string]any{"instanceIds": working}, &progress); err != nil {
			return nil, 0, err
		}
		byID := map[string]*httpapi.InstanceProgress{}
		for i := range progress.DataSet {
			byID[progress.DataSet[i].InstanceID] = &progress.DataSet[i]
		}
		for i := range out.DataSet {
			if p := byID[out.DataSet[i].InstanceID]; p != nil && p.TotalSteps > 0 {
				out.DataSet[i].Progress = p
			}
		}
	}
	return out.DataSet, out.TotalCount, nil
}

type instancesPage struct {
	Instances []instanceRow
	Total     int
	Notice    string
}

func (s *Server) showInstances(w http.ResponseWriter, r *http.Request, sess *session) {
	rows, total, err := s.describe(r, sess, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, sess, "instances", instancesPage{Instances: rows, Total: total, Notice: r.URL.Query().Get("notice")})
}

type instancePage struct {
	Instance instanceRow
	Events   []eventRow
}

type eventRow struct {
	At, Kind, Step, Driver, Detail string
}

// showInstance shows one instance of the session's team and its
// timeline; another team's instance is not found, as in the API.
func (s *Server) showInstance(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	if err := metalplane.CheckIDList("instanceIds", []string{id}, 1); err != nil {
		s.fail(w, r, err)
		return
	}
	rows, _, err := s.describe(r, sess, []string{id})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(rows) == 0 {
		s.fail(w, r, metalplane.Errorf("INVALID_INSTANCE_NOT_FOUND", "The instance %s does not exist.", id))
		return
	}
	events, err := s.DB.InstanceEvents(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := instancePage{Instance: rows[0]}
	for _, e := range events {
		row := eventRow{At: e.At.Format("2006-01-02 15:04:05.000"), Kind: e.Kind, Step: e.Step}
		// What happened is the tenant's; where (hosts, drivers, the
		// operators' notes) is the operators'.
		if sess.operator {
			row.Driver, row.Detail = e.Driver, e.Detail
		} else if tenantEventKinds[e.Kind] {
			row.Detail = e.Detail
		}
		page.Events = append(page.Events, row)
	}
	s.render(w, r, sess, "instance", page)
}

// tenantEventKinds are the events whose details a tenant sees: changes of
// status, steps, money and addresses. The others (created, host-swap,
// resumed, orphan, note) name hosts and drivers.
var tenantEventKinds = map[string]bool{"status": true, "step": true, "billing": true, "internet": true, "renewed": true,
	"subnet": true, "subscription": true, "released": true}

// instanceActions maps the buttons of an instance to their actions.
var instanceActions = map[string]string{"stop": "StopInstances", "start": "StartInstances"}

func (s *Server) instanceAction(w http.ResponseWriter, r *http.Request, sess *session) {
	id, action := r.PathValue("id"), instanceActions[r.PathValue("op")]
	if action == "" {
		http.NotFound(w, r)
		return
	}
	if err := s.call(r.Context(), sess, action, map[string]any{"instanceIds": []string{id}}, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/instances/"+id, http.StatusSeeOther)
}

// buyForm is the purchase form's choice.
type buyForm struct {
	ZoneID, InstanceTypeID, ChargeType, InternetChargeType, Name, ImageID string
	Period, Amount, BandwidthMbps                                         int
}

func readBuyForm(get func(string) string) buyForm {
	f := buyForm{ZoneID: get("zoneId"), InstanceTypeID: get("instanceTypeId"), ChargeType: get("instanceChargeType"),
		InternetChargeType: get("internetChargeType"), Name: get("instanceName"), ImageID: get("imageId")}
	f.Period, _ = strconv.Atoi(get("period"))
	f.Amount, _ = strconv.Atoi(get("amount"))
	f.BandwidthMbps, _ = strconv.Atoi(get("internetMaxBandwidthOut"))
	if f.ChargeType == "" {
		f.ChargeType = metalplane.ChargeTypePostpaid
	}
	if f.InternetChargeType == "" {
		f.InternetChargeType = "ByBandwidth"
	}
	f.Period, f.Amount, f.BandwidthMbps = max(f.Period, 1), max(f.Amount, 1), max(f.BandwidthMbps, 1)
	return f
}

// quoteIn is the InquiryPriceCreateInstance request of the form.
func (f buyForm) quoteIn() map[string]any {
	in := map[string]any{"zoneId": f.ZoneID, "instanceTypeId": f.InstanceTypeID, "instanceChargeType": f.ChargeType,
		"internetChargeType": f.InternetChargeType, "internetMaxBandwidthOut": f.BandwidthMbps}
	if f.ChargeType == metalplane.ChargeTypePrepaid {
		in["instanceChargePrepaid"] = map[string]any{"period": f.Period}
	}
	return in
}

// createIn is the CreateInstances request of the form.
func (f buyForm) createIn() map[string]any {
	in := f.quoteIn()
	in["amount"] = f.Amount
	if f.Name != "" {
		in["instanceName"] = f.Name
	}
	if f.ImageID != "" {
		in["imageId"] = f.ImageID
	}
	return in
}

// quote is what the form shows for a choice: the free hosts
// (DescribeAvailableResources) and the price (InquiryPriceCreateInstance).
type quote struct {
	Stock      int    `json:"stock"`
	SellStatus string `json:"sellStatus"`
	Price      string `json:"price"`
	Error      string `json:"error,omitempty"`
}

type priceItem struct {
	DiscountPrice     *float64 `json:"discountPrice"`
	DiscountUnitPrice *float64 `json:"discountUnitPrice"`
}

func (p priceItem) value() float64 {
	switch {
	case p.DiscountPrice != nil:
		return *p.DiscountPrice
	case p.DiscountUnitPrice != nil:
		return *p.DiscountUnitPrice
	}
	return 0
}

func (s *Server) quoteOf(r *http.Request, sess *session, f buyForm) quote {
	var q quote
	var avail struct {
		AvailableResources []struct {
			Qty        int    `json:"qty"`
			SellStatus string `json:"sellStatus"`
		} `json:"availableResources"`
	}
	err := s.call(r.Context(), sess, "DescribeAvailableResources", map[string]any{"zoneId": f.ZoneID, "instanceTypeId": f.InstanceTypeID,
		"instanceChargeType": f.ChargeType}, &avail)
	if err == nil && len(avail.AvailableResources) == 1 {
		q.Stock, q.SellStatus = avail.AvailableResources[0].Qty, avail.AvailableResources[0].SellStatus
	} else if err == nil {
		q.SellStatus = "NOT_SOLD"
	}
	var price struct {
		InstancePrice  priceItem   `json:"instancePrice"`
		BandwidthPrice []priceItem `json:"bandwidthPrice"`
		PrimaryIPPrice priceItem   `json:"primaryIpPrice"`
	}
	if err == nil {
		err = s.call(r.Context(), sess, "InquiryPriceCreateInstance", f.quoteIn(), &price)
	}
	if err != nil {
		q.Error = string(metalplane.ErrorCode(err)) + ": " + metalplane.ErrorMessage(err)
		return q
	}
	total := price.InstancePrice.value() + price.PrimaryIPPrice.value()
	for _, b := range price.BandwidthPrice {
		total += b.value()
	}
	total *= float64(f.Amount)
	if f.ChargeType == metalplane.ChargeTypePrepaid {
		q.Price = fmt.Sprintf("%.2f for %d month(s), %d instance(s)", total, f.Period, f.Amount)
	} else {
		q.Price = fmt.Sprintf("%.4f per hour, %d instance(s)", total, f.Amount)
	}
	return q
}

type buyPage struct {
	Form   buyForm
	Quote  quote
	Zones  []metalplane.Zone
	Types  []metalplane.InstanceType
	Images []metalplane.Image
	Error  string
	// FormID names this rendering of the form, so that submitting it
	// twice buys once.
	FormID  string
	Charges []string
	// Internets are the internet charge types any offer sells.
	Internets []string
}

func (s *Server) buyPage(r *http.Request, sess *session, f buyForm, errText string) buyPage {
	cat := s.Catalog
	if f.ZoneID == "" && len(cat.Offers) > 0 {
		f.ZoneID, f.InstanceTypeID = cat.Offers[0].ZoneID, cat.Offers[0].InstanceTypeID
	}
	var internets []string
	for _, o := range cat.Offers {
		internets = append(internets, o.InternetChargeTypes...)
	}
	slices.Sort(internets)
	return buyPage{FormID: randomToken(), Form: f, Quote: s.quoteOf(r, sess, f), Zones: cat.Zones, Types: cat.InstanceTypes, Images: cat.Images, Error: errText,
		Charges: []string{metalplane.ChargeTypePostpaid, metalplane.ChargeTypePrepaid}, Internets: slices.Compact(internets)}
}

func (s *Server) showBuy(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, r, sess, "buy", s.buyPage(r, sess, readBuyForm(r.URL.Query().Get), ""))
}

// quote answers the form's script as the choice changes.
func (s *Server) quote(w http.ResponseWriter, r *http.Request, sess *session) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s.quoteOf(r, sess, readBuyForm(r.URL.Query().Get)))
}

func (s *Server) buy(w http.ResponseWriter, r *http.Request, sess *session) {
	if !sess.claimForm(r.PostFormValue("formId")) {
		http.Redirect(w, r, "/console/instances?notice=this+form+was+already+submitted", http.StatusSeeOther)
		return
	}
	f := readBuyForm(r.PostFormValue)
	var out struct {
		InstanceIDSet []string `json:"instanceIdSet"`
	}
	if err := s.call(r.Context(), sess, "CreateInstances", f.createIn(), &out); err != nil {
		if metalplane.ErrorCode(err) == "INTERNAL_SERVER_ERROR" {
			s.fail(w, r, err)
			return
		}
		s.renderStatus(w, r, sess, metalplane.ErrorCode(err).Status(), "buy",
			s.buyPage(r, sess, f, string(metalplane.ErrorCode(err))+": "+metalplane.ErrorMessage(err)))
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/console/instances?notice=bought+%d", len(out.InstanceIDSet)), http.StatusSeeOther)
}

type billingPage struct {
	Team   *metalplane.Team
	Ledger []metalplane.LedgerEntry
	More   int
}

// maxLedgerRows bounds the ledger shown: the newest rows.
const maxLedgerRows = 200

// showBilling shows the team's balance and ledger, as `admin balance
// show` reads them (the API has no action for them).
func (s *Server) showBilling(w http.ResponseWriter, r *http.Request, sess *session) {
	team, err := s.DB.FindTeam(r.Context(), sess.caller.TeamID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ledger, err := s.DB.Ledger(r.Context(), team.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	slices.Reverse(ledger)
	page := billingPage{Team: team, Ledger: ledger}
	if len(ledger) > maxLedgerRows {
		page.Ledger, page.More = ledger[:maxLedgerRows], len(ledger)-maxLedgerRows
	}
	s.render(w, r, sess, "billing", page)
}
