package metalplane

import "time"

// HoursDue is the number of hourly charges a POSTPAID instance owes at
// now [decision]: hour k runs from createTime + k h and is owed once it
// has ended; once the instance is in the recycle bin (recycledAt not
// zero) billing has stopped and every hour that began before recycledAt
// is owed, the last one in full. The clock sweep charges the difference
// between this and the hours already charged, so missed hours are caught
// up and none is charged twice.
func HoursDue(createTime, recycledAt, now time.Time) int64 {
	if !recycledAt.IsZero() {
		d := recycledAt.Sub(createTime)
		if d <= 0 {
			return 0
		}
		return int64((d + time.Hour - 1) / time.Hour)
	}
	d := now.Sub(createTime)
	if d <= 0 {
		return 0
	}
	return int64(d / time.Hour)
}
