package raylab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// waitHead waits until the head's Jobs API answers and the head node is
// alive (its raylet up: the dashboard answers before it is), and returns
// its Ray version.
func waitHead(ctx context.Context, d layout, head *node) (string, error) {
	var v struct {
		RayVersion string `json:"ray_version"`
	}
	err := poll(ctx, head, func() error {
		if err := getJSON(ctx, d, "/api/version", &v); err != nil {
			return err
		}
		var jobs []json.RawMessage
		if err := getJSON(ctx, d, "/api/jobs/", &jobs); err != nil {
			return err
		}
		alive, err := listNodes(ctx, d)
		if err != nil {
			return err
		}
		for _, n := range alive {
			if n.IsHeadNode {
				return nil
			}
		}
		return errors.New("the head node is not alive yet")
	})
	return v.RayVersion, err
}

// stateNode is one entry of the state API's node list.
type stateNode struct {
	NodeID     string `json:"node_id"`
	State      string `json:"state"`
	IsHeadNode bool   `json:"is_head_node"`
}

// listNodes asks the head's state API for the alive nodes.
func listNodes(ctx context.Context, d layout) ([]stateNode, error) {
	var resp struct {
		Data struct {
			Result struct {
				Result []stateNode `json:"result"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := getJSON(ctx, d, "/api/v0/nodes?limit=100", &resp); err != nil {
		return nil, err
	}
	var alive []stateNode
	for _, n := range resp.Data.Result.Result {
		if n.State == "ALIVE" {
			alive = append(alive, n)
		}
	}
	return alive, nil
}

// getJSON GETs path from the head's dashboard inside the namespace, with
// the lab's token.
func getJSON(ctx context.Context, d layout, path string, v any) error {
	token, err := os.ReadFile(d.token())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(DashboardPort)+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.Unmarshal(b, v)
}

// fatalErr ends a poll at once.
type fatalErr struct{ error }

// poll calls f every 250 ms until it succeeds, fails with a fatalErr, the
// process n (when given) exits, or ctx ends.
func poll(ctx context.Context, n *node, f func() error) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		last = f()
		if last == nil {
			return nil
		}
		var fatal fatalErr
		if errors.As(last, &fatal) {
			return fatal.error
		}
		var exited <-chan struct{}
		if n != nil {
			exited = n.done
		}
		select {
		case <-exited:
			return n.exitedErr()
		case <-ctx.Done():
			return fmt.Errorf("%v (last: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
