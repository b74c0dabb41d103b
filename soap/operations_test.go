package soap

import (
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"slices"
	"testing"
)

// TestErrorCodesComplete checks that ErrorCodes lists every ErrorCode
// constant declared in the package, so that a new code cannot be left out
// of the metrics' label values.
func TestErrorCodesComplete(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "fault.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "ErrorCode" {
			for _, name := range vs.Names {
				declared = append(declared, name.Name)
			}
		}
		return true
	})
	var listed []string
	for _, c := range ErrorCodes() {
		listed = append(listed, string(c))
	}
	slices.Sort(declared)
	slices.Sort(listed)
	if len(declared) == 0 || !slices.Equal(declared, listed) {
		t.Fatalf("ErrorCodes() = %v, fault.go declares %v", listed, declared)
	}
}

func TestOperations(t *testing.T) {
	svc := NewService("Echo", "urn:echo", StyleClient, NewAdmission(0, 0, 0), slog.New(slog.DiscardHandler))
	svc.Handle("Echo", Limits{MaxBytes: 10, MaxMarkup: 10}, nil)
	svc.HandleBulk("Bulk", Limits{MaxBytes: 10, MaxMarkup: 10}, nil)
	if got, want := svc.Operations(), []string{"Bulk", "Echo"}; !slices.Equal(got, want) {
		t.Errorf("Operations() = %v, want %v", got, want)
	}
	if svc.Name() != "Echo" {
		t.Errorf("Name() = %q", svc.Name())
	}
}
