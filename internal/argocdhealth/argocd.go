package argocdhealth

import (
	"context"
	"errors"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// ArgoCDStatus is an Argo CD health status code.
type ArgoCDStatus string

// The status codes Argo CD accepts from a health script.
const (
	ArgoCDHealthy     ArgoCDStatus = "Healthy"
	ArgoCDProgressing ArgoCDStatus = "Progressing"
	ArgoCDDegraded    ArgoCDStatus = "Degraded"
	ArgoCDSuspended   ArgoCDStatus = "Suspended"
	ArgoCDMissing     ArgoCDStatus = "Missing"
	ArgoCDUnknown     ArgoCDStatus = "Unknown"
)

// ArgoCDHealth is what a health script returns.
type ArgoCDHealth struct {
	Status  ArgoCDStatus
	Message string
}

// scriptTimeout bounds one script run, as Argo CD does, so a looping script fails
// instead of hanging.
const scriptTimeout = time.Second

const (
	errNotATable = "health script returned %s, want a table"
	// msgInvalidStatus is what Argo CD reports when a script returns a status it does
	// not know.
	msgInvalidStatus = "Lua returned an invalid health status"
)

// EvalArgoCDHealth runs an Argo CD health script against obj (an object as
// unstructured.Unstructured holds it) in the sandbox Argo CD uses for custom checks:
// only the package, base and table libraries are loaded (no string, math, io or os),
// obj is a global, and the script must return a table with status and message. An
// unknown status becomes Unknown, as in Argo CD.
func EvalArgoCDHealth(script string, obj map[string]any) (ArgoCDHealth, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), Protect: true}, lua.LString(lib.name)); err != nil {
			return ArgoCDHealth{}, fmt.Errorf("opening Lua library %s: %w", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	l.SetContext(ctx)

	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return ArgoCDHealth{}, err
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return ArgoCDHealth{}, fmt.Errorf(errNotATable, l.Get(-1).Type())
	}
	status, err := luaString(ret.RawGetString("status"))
	if err != nil {
		return ArgoCDHealth{}, fmt.Errorf("status: %w", err)
	}
	message, err := luaString(ret.RawGetString("message"))
	if err != nil {
		return ArgoCDHealth{}, fmt.Errorf("message: %w", err)
	}
	h := ArgoCDHealth{Status: ArgoCDStatus(status), Message: message}
	switch h.Status {
	case ArgoCDHealthy, ArgoCDProgressing, ArgoCDDegraded, ArgoCDSuspended, ArgoCDMissing, ArgoCDUnknown:
		return h, nil
	default:
		return ArgoCDHealth{Status: ArgoCDUnknown, Message: msgInvalidStatus}, nil
	}
}

// luaString reads an optional string field of the returned table.
func luaString(v lua.LValue) (string, error) {
	switch s := v.(type) {
	case *lua.LNilType:
		return "", nil
	case lua.LString:
		return string(s), nil
	default:
		return "", errors.New("want a string, got " + v.Type().String())
	}
}

// toLua converts a decoded JSON/YAML value the way Argo CD hands live objects to
// scripts: integers (as unstructured decodes them) and floats become numbers, lists
// become 1-based tables.
func toLua(l *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case string:
		return lua.LString(x)
	case int:
		return lua.LNumber(x)
	case int32:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case []any:
		t := l.CreateTable(len(x), 0)
		for _, item := range x {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(x))
		for k, item := range x {
			t.RawSetString(k, toLua(l, item))
		}
		return t
	default:
		return lua.LNil
	}
}
