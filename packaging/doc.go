// Package packaging holds adopipe's package metadata (project.mk) and the
// tests of what `make dist` ships: the wheels' structure and metadata, and
// `go install` from a checkout. Its tests read the wheels `make dist-test`
// builds (see internal/disttest); point ADOPIPE_TEST_DIST at dist/ after a
// `make dist` to check every platform and the release archives too:
//
//	ADOPIPE_TEST_DIST=$PWD/dist go test ./packaging -run Wheels -v
package packaging
