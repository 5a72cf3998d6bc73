package main

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/json"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// textWithLength matches MySQL's TEXT(M), which go-mysql-server's parser
// rejects. SQLAlchemy emits it for ado's sample store:
// `representation TEXT(3145728)`.
var textWithLength = regexp.MustCompile(`(?i)\bTEXT\s*\(\s*(\d+)\s*\)`)

// rewriteDDL replaces TEXT(M) in CREATE and ALTER statements with the type
// MySQL 8 picks for it: the smallest TEXT type that holds M characters of
// utf8mb4 (4 bytes each). Other statements are returned unchanged.
func rewriteDDL(q string) string {
	head := strings.ToUpper(strings.TrimSpace(q))
	if !strings.HasPrefix(head, "CREATE") && !strings.HasPrefix(head, "ALTER") {
		return q
	}
	return textWithLength.ReplaceAllStringFunc(q, func(m string) string {
		chars, err := strconv.Atoi(textWithLength.FindStringSubmatch(m)[1])
		if err != nil { // more digits than an int holds
			return "LONGTEXT"
		}
		switch bytes := int64(chars) * 4; {
		case bytes < 1<<8:
			return "TINYTEXT"
		case bytes < 1<<16:
			return "TEXT"
		case bytes < 1<<24:
			return "MEDIUMTEXT"
		}
		return "LONGTEXT"
	})
}

// jsonInStringsRuleID is outside the range of go-mysql-server's own rules.
const jsonInStringsRuleID analyzer.RuleId = 100000

// jsonInStrings makes `json_expr IN ('a', 'b')` compare as MySQL 8 does.
// MySQL turns each string into a JSON string before comparing;
// go-mysql-server parses it as JSON text and fails ("Invalid JSON text")
// on ado's replay query:
//
//	coalesce(json_extract(data, ...), json_extract(data, ...)) IN ('replay', '"replay"')
//
// For string elements, comparing JSON_UNQUOTE(json_expr) with the strings
// gives MySQL's answer: the JSON string "replay" equals 'replay', and does
// not equal '"replay"'.
func jsonInStrings(_ *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	return transform.Node(n, func(n sql.Node) (sql.Node, transform.TreeIdentity, error) {
		return transform.NodeExprs(n, func(e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
			in, ok := e.(*expression.InTuple)
			if !ok || !types.IsJSON(in.Left().Type()) {
				return e, transform.SameTree, nil
			}
			for _, r := range in.Right().Children() {
				if !types.IsText(r.Type()) {
					return e, transform.SameTree, nil
				}
			}
			return expression.NewInTuple(json.NewJSONUnquote(in.Left()), in.Right()), transform.NewTree, nil
		})
	})
}
