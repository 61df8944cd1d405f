package plugin

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// now is the fixed clock of the pure tests.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) *metav1.Time {
	t := metav1.NewTime(now.Add(-d))
	return &t
}

// user builds a StudioUser fixture; change lets each case adjust it.
func user(name string, change func(*iamv1.StudioUser)) iamv1.StudioUser {
	u := iamv1.StudioUser{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec:       iamv1.StudioUserSpec{Email: name + "@example.com", Type: iamv1.UserTypeUser},
		Status: iamv1.StudioUserStatus{
			CommonStatus: iamv1.CommonStatus{ObservedGeneration: 1},
			State:        iamv1.UserStateActive,
		},
	}
	if change != nil {
		change(&u)
	}
	return u
}

func access(env, agency string, source iamv1.AccessSource, bindings []string, roles ...iamv1.Role) iamv1.EnvironmentAccess {
	return iamv1.EnvironmentAccess{Environment: env, Agency: agency, Roles: roles, Source: source, Bindings: bindings}
}
