package metalplane

import "unicode/utf8"

// Size limits of requests. Every string and every list a request carries is
// bounded before anything is written, so that one request cannot fill the
// database, hold the writer or inflate later answers (issue 11: one
// CreateInstances of 38,000 tags × amount 50 wrote 1.9 M rows). The limits
// of one field live beside the rule that checks it (MaxUserDataBytes in
// create.go, MaxNameLength in naming.go, ...); the ones below are shared by
// many actions. docs/limits.md lists every limit with its value and source.

const (
	// MaxIDLength bounds every ID a request names (instanceId, zoneId,
	// keyId, clusterId, the items of instanceIds...) and every other short
	// token compared with a fixed set (enum values, acceptLanguage, IP
	// addresses). [decision] 64 characters: the IDs metalplane generates
	// are at most 36 (an image UUID), the catalog's are checked against it
	// when it is loaded, and no known client sends a longer one.
	MaxIDLength = 64

	// MaxListItems bounds every list of a request unless its field states
	// less (PROTOCOL.md §9 and the ACTIONS.md conventions: "at most 100
	// IDs unless stated"; the docs give 100 for instanceIds, subnetIds,
	// keyIds and subnetInstanceList).
	MaxListItems = 100

	// MaxTagsPerInstance bounds the tags of one CreateInstances.
	// [decision] 20: no source states a number; 20 is what one
	// DescribeInstances tags filter may name, so a filter can always name
	// every tag of an instance, and it bounds the tags part of an
	// InstanceInfo.
	MaxTagsPerInstance = 20

	// MaxTagLength bounds a tag key and a tag value, in characters
	// (ACTIONS.md §5.12, the CLI's "Length limit: 1 to 128 characters").
	MaxTagLength = 128

	// MaxTagFilters bounds the tagKeys and the tags filters of
	// DescribeInstances (CLI: "up to 20 tag keys", "up to 20 tags").
	MaxTagFilters = 20

	// MaxIpxeURLLength bounds ipxeUrl, in bytes. [decision] 1024: it is
	// stored and returned by every DescribeInstances; iPXE script URLs are
	// short, and 1024 is half of what common proxies accept.
	MaxIpxeURLLength = 1024

	// MaxDiscountCodeLength bounds marketingOptions.discountCode.
	// [decision] 64 characters; unknown codes are ignored (ACTIONS.md
	// §5.11), so it is only read.
	MaxDiscountCodeLength = 64
)

// FirstError returns the first non-nil error in argument order, or nil. A
// handler lists the size rules of its fields with it, in the order its
// action checks them.
func FirstError(errs ...*Error) *Error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// CheckLength answers INVALID_PARAMETER when v holds more than max
// characters. A nil or empty v passes: whether the field is required is
// another rule.
func CheckLength(field string, v *string, max int) *Error {
	if v == nil || !longerThan(*v, max) {
		return nil
	}
	return Errorf("INVALID_PARAMETER", "%s must be at most %d characters.", field, max)
}

// CheckID is CheckLength with MaxIDLength, for IDs and short tokens.
func CheckID(field string, v *string) *Error {
	return CheckLength(field, v, MaxIDLength)
}

// CheckList answers INVALID_PARAMETER when items holds more than maxItems
// strings or one of more than maxLength characters.
func CheckList(field string, items []string, maxItems, maxLength int) *Error {
	if len(items) > maxItems {
		return Errorf("INVALID_PARAMETER", "%s holds at most %d items; got %d.", field, maxItems, len(items))
	}
	for i := range items {
		if longerThan(items[i], maxLength) {
			return Errorf("INVALID_PARAMETER", "%s[%d] must be at most %d characters.", field, i, maxLength)
		}
	}
	return nil
}

// CheckIDList is CheckList for a list of IDs: at most maxItems IDs of at
// most MaxIDLength characters each.
func CheckIDList(field string, ids []string, maxItems int) *Error {
	return CheckList(field, ids, maxItems, MaxIDLength)
}

// CheckCount answers INVALID_PARAMETER when a list of field holds more
// than max items.
func CheckCount(field string, n, max int) *Error {
	if n > max {
		return Errorf("INVALID_PARAMETER", "%s holds at most %d items; got %d.", field, max, n)
	}
	return nil
}

// CheckTagFilters checks the tags filter of DescribeInstances: at most
// MaxTagFilters pairs, each with a key, and keys and values of at most
// MaxTagLength characters.
func CheckTagFilters(tags []Tag) *Error {
	if err := CheckCount("tags", len(tags), MaxTagFilters); err != nil {
		return err
	}
	for i, tag := range tags {
		if str(tag.Key) == "" {
			return Errorf("INVALID_PARAMETER", "tags[%d].key is required: every tag filter needs a key.", i)
		}
		if longerThan(*tag.Key, MaxTagLength) || longerThan(str(tag.Value), MaxTagLength) {
			return Errorf("INVALID_PARAMETER", "tags[%d]: keys and values are at most %d characters.", i, MaxTagLength)
		}
	}
	return nil
}

// checkTags checks the tags of CreateInstances: at most MaxTagsPerInstance,
// keys and values of 1 to MaxTagLength characters, keys unique. It returns
// the tags as the plan stores them.
func checkTags(in *TagAssociation) ([]Tag, *Error) {
	if in == nil {
		return nil, nil
	}
	if err := CheckCount("tags.tags", len(in.Tags), MaxTagsPerInstance); err != nil {
		return nil, err
	}
	var tags []Tag
	seen := map[string]bool{}
	for _, tag := range in.Tags {
		k, v := str(tag.Key), str(tag.Value)
		if k == "" || v == "" || longerThan(k, MaxTagLength) || longerThan(v, MaxTagLength) {
			return nil, invalid("Tag keys and values must be 1 to %d characters.", MaxTagLength)
		}
		if seen[k] {
			return nil, invalid("Tag key %s is given twice.", k)
		}
		seen[k] = true
		tags = append(tags, Tag{Key: &k, Value: &v})
	}
	return tags, nil
}

// longerThan reports whether s holds more than max characters (code
// points; the decoder has already refused invalid UTF-8). Counting is
// skipped when the bytes alone fit.
func longerThan(s string, max int) bool {
	return len(s) > max && utf8.RuneCountInString(s) > max
}
