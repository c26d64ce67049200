package console

import (
	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// stockChart is the stock page's bar chart, drawn as SVG by the template:
// a row per offer, grouped by zone, the bar's length the share of its
// hosts that can be bought, with maintenance and allocated hosts after it.
type stockChart struct {
	Width, Height int
	Rows          []stockBar
}

// stockBar is one offer's row; the *Width fields are in SVG units.
type stockBar struct {
	ZoneID, InstanceTypeID                   string
	Available, Allocated, Maintenance, Total int
	Y                                        int
	AvailableWidth, AllocatedWidth           int
	MaintenanceWidth                         int
	AllocatedX, MaintenanceX                 int
}

// Chart geometry: a label column, then bars of at most barMax units.
const (
	chartRowHeight = 22
	chartLabel     = 120
	chartBarMax    = 420
)

func newStockChart(offers []metalplane.Offer, counts []sqlstore.HostCount) stockChart {
	type key struct{ zone, typ string }
	byOffer := map[key]map[string]int{}
	for _, c := range counts {
		k := key{c.ZoneID, c.InstanceTypeID}
		if byOffer[k] == nil {
			byOffer[k] = map[string]int{}
		}
		byOffer[k][c.State] += c.Count
	}
	largest := 1
	for _, states := range byOffer {
		largest = max(largest, states[sqlstore.HostAvailable]+states[sqlstore.HostAllocated]+states[sqlstore.HostMaintenance])
	}
	width := func(n int) int {
		if n == 0 {
			return 0
		}
		return max(1, n*chartBarMax/largest)
	}
	chart := stockChart{Width: chartLabel + chartBarMax + 230}
	for i, o := range offers {
		states := byOffer[key{o.ZoneID, o.InstanceTypeID}]
		b := stockBar{ZoneID: o.ZoneID, InstanceTypeID: o.InstanceTypeID, Y: i * chartRowHeight,
			Available: states[sqlstore.HostAvailable], Allocated: states[sqlstore.HostAllocated], Maintenance: states[sqlstore.HostMaintenance]}
		b.Total = b.Available + b.Allocated + b.Maintenance
		b.AvailableWidth, b.AllocatedWidth, b.MaintenanceWidth = width(b.Available), width(b.Allocated), width(b.Maintenance)
		b.AllocatedX = chartLabel + b.AvailableWidth
		b.MaintenanceX = b.AllocatedX + b.AllocatedWidth
		chart.Rows = append(chart.Rows, b)
	}
	chart.Height = len(chart.Rows)*chartRowHeight + 4
	return chart
}
