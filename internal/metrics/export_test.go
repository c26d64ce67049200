package metrics

// NewFleetCollector lets the external tests build a collector with a
// cache age of their choosing.
var NewFleetCollector = newFleetCollector
