// Package benchstat holds the small figures and words the bench commands
// (benchtime, peerbench, watchlat) share, so that their lines and JSON
// records say the same thing the same way, and the tail of a failed
// command's output.
package benchstat

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// Sorted returns a sorted copy of xs.
func Sorted[T ~int64 | ~float64](xs []T) []T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s
}

// Median of sorted values (the mean of the middle two for an even count).
func Median[T ~int64 | ~float64](sorted []T) T {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Met is a target's verdict.
func Met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// Speed says how a ratio A/B reads for name (A): "faster" or "slower".
func Speed(ratio float64, name string) string {
	if ratio <= 1 {
		return fmt.Sprintf("%s %.2fx faster", name, 1/ratio)
	}
	return fmt.Sprintf("%s %.2fx slower", name, ratio)
}

// AppendJSON appends rec as one JSON line to the file at path.
func AppendJSON(path string, rec any) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(f).Encode(rec); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Tail is the last 2,000 bytes of a command's output, for an error message.
func Tail(b []byte) string {
	const n = 2000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
