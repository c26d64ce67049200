package httpapi

import (
	"math"

	"github.com/metalplane/metalplane"
)

// Paging of the Describe actions that return totalCount and dataSet
// (PROTOCOL.md §10): DescribeKeyPairs, DescribeSubnets, DescribeInstances.
const (
	defaultPageSize = 20
	maxPageSize     = 1000
)

// pageParams applies the defaults to the pageNum and pageSize of a request
// (absent means 1 and 20) and checks them: pageNum below 1, or pageSize
// outside 1..1000, is INVALID_PARAMETER. A pageNum beyond the last page is
// valid; the store answers it with an empty page and the real total.
func pageParams(pageNum, pageSize *int) (num, size int, err error) {
	num, size = 1, defaultPageSize
	if pageNum != nil {
		if *pageNum < 1 {
			return 0, 0, metalplane.Errorf("INVALID_PARAMETER", "pageNum must be 1 or more; got %d.", *pageNum)
		}
		num = *pageNum
	}
	if pageSize != nil {
		if *pageSize < 1 || *pageSize > maxPageSize {
			return 0, 0, metalplane.Errorf("INVALID_PARAMETER", "pageSize must be between 1 and %d; got %d.", maxPageSize, *pageSize)
		}
		size = *pageSize
	}
	return num, size, nil
}

// pageOffset returns the number of rows before page num of size rows,
// saturating at math.MaxInt: a huge pageNum is a page beyond the last (an
// empty page), never an offset that overflows to a negative number, which
// PostgreSQL refuses (a 500) and SQLite reads as 0 (the first page).
func pageOffset(num, size int) int {
	if num-1 > math.MaxInt/size {
		return math.MaxInt
	}
	return (num - 1) * size
}
