package httpapi

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/metalplane/metalplane"
)

// DescribeInstances' answer is written by hand rather than by
// encoding/json: reflecting over 33 fields of 20 instances, the catalog's
// instanceType object again in each, was 15 % of the server's CPU per page.
// The bytes must be exactly those encoding/json writes for the same
// instanceInfo values (describe_encode_test.go compares the two):
// same field order, same omissions, same escapes (HTML characters and
// U+2028/U+2029 included), same numbers.

// encodedOutput is an action's output already encoded as a JSON object;
// run sends it as it is.
type encodedOutput []byte

// encodeDescribeInstances returns the answer {"dataSet":[...],"totalCount":N}
// (describeInstancesAnswer in the test).
func encodeDescribeInstances(data []instanceInfo, total int) ([]byte, error) {
	b := answerBuffer()
	b = append(b, `{"dataSet":[`...)
	types := typeEncodings{}
	for i := range data {
		if i > 0 {
			b = append(b, ',')
		}
		start := len(b)
		var err error
		if b, err = appendInstanceInfo(b, &data[i], types); err != nil {
			return nil, err
		}
		if i == 0 {
			// The rest of the page is sized after its first instance, with
			// room to spare: one growth instead of a copy at every doubling.
			b = slices.Grow(b, (len(b)-start+1)*(len(data)-1)*5/4+64)
		}
	}
	b = append(b, `],"totalCount":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	return append(b, '}'), nil
}

// answerBuffers keeps the buffers of answers already written (serveAPI
// hands them back through recycleAnswer): a page of 20 is some 25 KB,
// which, made anew for each request, was a third of the bytes the
// server allocated per page and a good part of its garbage collection.
var answerBuffers sync.Pool

// Buffers outside these bounds are left to the garbage collector: too
// small to be worth it, or too large to keep for the next small page.
const (
	minPooledAnswer = 4 << 10
	maxPooledAnswer = 256 << 10
)

func answerBuffer() []byte {
	if b, ok := answerBuffers.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, 4096)
}

// recycleAnswer takes back an answer's bytes once they are written; no one
// may use them after.
func recycleAnswer(b []byte) {
	if cap(b) >= minPooledAnswer && cap(b) <= maxPooledAnswer {
		answerBuffers.Put(&b)
	}
}

// typeEncodings holds the JSON of each instance type met in one answer:
// a page's instances are mostly of one or two types.
type typeEncodings map[string][]byte

func (t typeEncodings) of(info *instanceTypeInfo) ([]byte, error) {
	if b, ok := t[info.InstanceTypeID]; ok {
		return b, nil
	}
	b, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	t[info.InstanceTypeID] = b
	return b, nil
}

// appendInstanceInfo appends one instanceInfo, its fields in the struct's order.
func appendInstanceInfo(b []byte, in *instanceInfo, types typeEncodings) ([]byte, error) {
	b = appendKeyString(b, `{"instanceId":`, in.InstanceID)
	b = appendKeyString(b, `,"zoneId":`, in.ZoneID)
	b = appendKeyString(b, `,"instanceName":`, in.InstanceName)
	b = appendKeyString(b, `,"hostname":`, in.Hostname)
	b = appendKeyString(b, `,"instanceTypeId":`, in.InstanceTypeID)
	if in.InstanceType != nil {
		typeJSON, err := types.of(in.InstanceType)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"instanceType":`...)
		b = append(b, typeJSON...)
	}
	b = appendKeyOptString(b, `,"imageId":`, in.ImageID)
	b = appendKeyOptString(b, `,"imageName":`, in.ImageName)
	b = appendKeyOptString(b, `,"ipxeUrl":`, in.IpxeURL)
	b = appendKeyString(b, `,"instanceChargeType":`, in.InstanceChargeType)
	b = append(b, `,"bandwidthOutMbps":`...)
	b = strconv.AppendInt(b, int64(in.BandwidthOutMbps), 10)
	b = appendKeyString(b, `,"internetChargeType":`, in.InternetChargeType)
	b = append(b, `,"period":`...)
	b = appendOptInt(b, in.Period)
	b = appendKeyOptString(b, `,"primaryPublicIpAddress":`, in.PrimaryPublicIPAddress)
	b = appendKeyOptString(b, `,"primaryPublicIPv6Address":`, in.PrimaryPublicIPv6Address)
	b = appendKeyStrings(b, `,"publicIpAddresses":`, in.PublicIPAddresses)
	b = appendKeyStrings(b, `,"privateIpAddresses":`, in.PrivateIPAddresses)
	b = appendKeyStrings(b, `,"ipv6Addresses":`, in.IPv6Addresses)
	b = appendKeyStrings(b, `,"subnetIds":`, in.SubnetIDs)
	b = appendKeyString(b, `,"createTime":`, in.CreateTime)
	b = appendKeyOptString(b, `,"expiredTime":`, in.ExpiredTime)
	b = appendKeyString(b, `,"resourceGroupId":`, in.ResourceGroupID)
	b = appendKeyString(b, `,"resourceGroupName":`, in.ResourceGroupName)
	b = appendKeyString(b, `,"instanceStatus":`, in.InstanceStatus)
	b = append(b, `,"trafficPackageSize":`...)
	if in.TrafficPackageSize == nil {
		b = append(b, "null"...)
	} else {
		var err error
		if b, err = appendFloat(b, *in.TrafficPackageSize); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"raidConfig":`...)
	b = appendRaidConfig(b, in.RaidConfig)
	b = append(b, `,"partitions":`...)
	b = appendPartitions(b, in.Partitions)
	b = append(b, `,"nic":{`...)
	comma := false
	if in.Nic.WanName != nil {
		b = appendKeyString(b, `"wanName":`, *in.Nic.WanName)
		comma = true
	}
	if in.Nic.LanName != nil {
		if comma {
			b = append(b, ',')
		}
		b = appendKeyString(b, `"lanName":`, *in.Nic.LanName)
	}
	b = append(b, `},"autoRenew":`...)
	b = strconv.AppendBool(b, in.AutoRenew)
	b = appendKeyOptString(b, `,"keyId":`, in.KeyID)
	b = append(b, `,"tags":{"tags":`...)
	b = appendTags(b, in.Tags.Tags)
	b = append(b, `},"enableGatewayMode":`...)
	b = strconv.AppendBool(b, in.EnableGatewayMode)
	return append(b, '}'), nil
}

func appendKeyString(b []byte, key, s string) []byte {
	return appendJSONString(append(b, key...), s)
}

func appendKeyOptString(b []byte, key string, s *string) []byte {
	return appendOptString(append(b, key...), s)
}

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

func appendOptInt(b []byte, n *int) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(*n), 10)
}

// appendList appends a JSON array of list's items, each by item; nil is
// null, as encoding/json has it.
func appendList[T any](b []byte, list []T, item func([]byte, *T) []byte) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = item(b, &list[i])
	}
	return append(b, ']')
}

func appendKeyStrings(b []byte, key string, list []string) []byte {
	return appendList(append(b, key...), list, func(b []byte, s *string) []byte { return appendJSONString(b, *s) })
}

// appendRaidConfig: both fields are omitempty.
func appendRaidConfig(b []byte, rc *metalplane.RaidConfig) []byte {
	if rc == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	if rc.RaidType != nil {
		b = append(b, `"raidType":`...)
		b = strconv.AppendInt(b, int64(*rc.RaidType), 10)
	}
	if len(rc.CustomRaids) > 0 {
		if rc.RaidType != nil {
			b = append(b, ',')
		}
		b = appendList(append(b, `"customRaids":`...), rc.CustomRaids, func(b []byte, g *metalplane.CustomRaid) []byte {
			b = appendOptInt(append(b, `{"raidType":`...), g.RaidType)
			b = appendList(append(b, `,"diskSequence":`...), g.DiskSequence, func(b []byte, n *int) []byte { return strconv.AppendInt(b, int64(*n), 10) })
			return append(b, '}')
		})
	}
	return append(b, '}')
}

func appendPartitions(b []byte, parts []metalplane.Partition) []byte {
	return appendList(b, parts, func(b []byte, p *metalplane.Partition) []byte {
		b = appendKeyOptString(b, `{"fsPath":`, p.FsPath)
		b = appendKeyOptString(b, `,"fsType":`, p.FsType)
		return append(appendOptInt(append(b, `,"size":`...), p.Size), '}')
	})
}

func appendTags(b []byte, tags []metalplane.Tag) []byte {
	return appendList(b, tags, func(b []byte, t *metalplane.Tag) []byte {
		return append(appendKeyOptString(appendKeyOptString(b, `{"key":`, t.Key), `,"value":`, t.Value), '}')
	})
}

// appendFloat writes a float64 as encoding/json does: the shortest
// decimal that reads back the same, in exponent form only below 1e-6 or
// from 1e21 on (rare here: those go through encoding/json itself, which
// also refuses NaN and infinities).
func appendFloat(b []byte, f float64) ([]byte, error) {
	if abs := math.Abs(f); abs == 0 || abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64), nil
	}
	enc, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

// jsonSafe marks the ASCII bytes written as they are inside a JSON
// string: encoding/json escapes the quote, the backslash, control
// characters, and <, > and & (so that the JSON can sit in HTML).
var jsonSafe = func() (safe [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		safe[c] = true
	}
	for _, c := range `"\<>&` {
		safe[c] = false
	}
	return safe
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string with encoding/json's escapes:
// \" \\ \b \f \n \r \t, \u00XX for the other control characters and for
// < > &, \u2028 and \u2029 for the line and paragraph separators, and
// \ufffd for each byte that is not valid UTF-8.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	done := 0 // s[:done] is written
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[done:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[done:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[done:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	return append(append(b, s[done:]...), '"')
}
