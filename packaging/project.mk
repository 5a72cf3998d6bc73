# adopipe's package metadata, the one place `make dist` (mk/dist.mk) takes
# it from for the wheels and release archives, and the one the packaging
# tests check the wheels against. Plain `NAME = value` lines: make includes
# this file, the tests parse it.
#
# The version is not here: it is git's. The go command stamps it into the
# binary (a tag such as v0.3.0, or a pseudo-version between tags) and
# internal/buildinfo/cmd/wheelversion converts it to PEP 440 for the wheels.

PROJECT_NAME         = adopipe
PROJECT_SUMMARY      = Build, stage and submit ado operations to Ray clusters from one declarative manifest, ado.hcl
PROJECT_LICENSE      = Apache-2.0
PROJECT_LICENSE_FILE = LICENSE
PROJECT_README       = README.md
# gowheels derives the Bug Tracker (/issues) and Changelog (/releases) URLs
# from the repository URL.
PROJECT_URL          = https://github.com/adopipe/adopipe
PROJECT_GO_PACKAGE   = ./cmd/adopipe
