package metalplane

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

// ImageFormats are the formats the deploy agent writes: "raw", a disk
// image copied byte for byte to the target disk.
var ImageFormats = []string{"raw"}

// MaxImageSourceLength bounds an image's source. [decision] 1024
// characters: long enough for any download URL.
const MaxImageSourceLength = 1024

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// CheckImageSource validates where an image comes from: nothing at all
// (an image for simulated hosts), or a source with its SHA-256 and
// format. A source is an http or https URL, or a relative path of a file
// under the data dir that does not climb out of it.
func CheckImageSource(source, sha256, format string) error {
	if source == "" {
		if sha256 != "" || format != "" {
			return errors.New("sha256 and format need a source")
		}
		return nil
	}
	if len(source) > MaxImageSourceLength {
		return fmt.Errorf("source is longer than %d characters", MaxImageSourceLength)
	}
	if !sha256Hex.MatchString(sha256) {
		return errors.New("sha256 must be 64 lower-case hex digits")
	}
	if format != "raw" {
		return fmt.Errorf("format %q: want raw", format)
	}
	if IsImageURL(source) {
		u, err := url.Parse(source)
		if err != nil || u.Host == "" {
			return errors.New("source is not a valid URL")
		}
		if u.User != nil {
			return errors.New("source URL must not hold credentials")
		}
		return nil
	}
	if strings.Contains(source, "://") {
		return errors.New("source URL scheme: want http or https")
	}
	if filepath.IsAbs(source) || !filepath.IsLocal(source) {
		return errors.New("source file must be a relative path inside the data dir")
	}
	return nil
}

// IsImageURL reports whether an image's source is a URL rather than a
// file of the data dir.
func IsImageURL(source string) bool {
	return strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://")
}
