package countproxy

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Call sends a body-less request for path (one of the /__bench/ endpoints)
// to the proxy at addr and copies the response body to out; a status other
// than 2xx is an error.
func Call(addr, method, path string, out io.Writer) error {
	req, err := http.NewRequest(method, strings.TrimRight(addr, "/")+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	_, err = io.Copy(out, resp.Body)
	return err
}
