package testfiles

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// Member is one file of a wheel Wheel writes.
type Member struct {
	Name, Content string
	Method        uint16 // zip.Store or zip.Deflate
}

// Wheel writes a wheel the way setuptools' bdist_wheel does: the members
// in order (mode 0644, the 1980 timestamp of SOURCE_DATE_EPOCH builds),
// then <distInfo>/RECORD listing each with its hash and size.
func Wheel(t testing.TB, path, distInfo string, members []Member) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	when := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(name, content string, method uint16) {
		fh := &zip.FileHeader{Name: name, Method: method, Modified: when}
		fh.SetMode(0o644)
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	for _, m := range members {
		add(m.Name, m.Content, m.Method)
		record.WriteString(RecordLine(m.Name, []byte(m.Content)))
	}
	rname := distInfo + "/RECORD"
	add(rname, record.String()+rname+",,\n", zip.Deflate)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// RecordLine is a wheel RECORD line for a member (PEP 376/427).
func RecordLine(name string, data []byte) string {
	sum := sha256.Sum256(data)
	return fmt.Sprintf("%s,sha256=%s,%d\n", name, base64.RawURLEncoding.EncodeToString(sum[:]), len(data))
}
