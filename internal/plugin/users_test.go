package plugin

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

func TestUsersTable(t *testing.T) {
	ana := user("ana", func(u *iamv1.StudioUser) {
		u.Status.CreatedAt = ago(72 * time.Hour)
		u.Status.LastActiveAt = ago(90 * time.Minute)
		u.Status.Invitation = &iamv1.InvitationStatus{State: iamv1.InvitationAccepted}
		u.Status.Access = []iamv1.EnvironmentAccess{
			access("team-support/webchat", "acme", iamv1.AccessSourceAgency, nil, "Analyst"),
			access("team-support/whatsapp", "acme", iamv1.AccessSourceAgency, nil, "Analyst"),
		}
		u.Status.Environments = 2
	})
	alex := user("alex", func(u *iamv1.StudioUser) {
		u.Spec.Type = iamv1.UserTypeAgent
		u.Status.State = iamv1.UserStateInvited
		u.Status.CreatedAt = ago(10 * time.Minute)
		u.Status.Invitation = &iamv1.InvitationStatus{State: iamv1.InvitationPending}
		u.Status.Access = []iamv1.EnvironmentAccess{access("team-support/webchat", "acme", iamv1.AccessSourceEnvironment, nil, "Agent")}
	})
	fresh := user("zoe", func(u *iamv1.StudioUser) {
		u.Spec.Type = "" // as created before the apiserver defaulted it
		u.Status = iamv1.StudioUserStatus{}
	})
	counted := user("cas", func(u *iamv1.StudioUser) {
		u.Status.Environments = 3 // access list left out: the count still shows
	})

	cases := map[string]struct {
		users []iamv1.StudioUser
		wide  bool
		want  Table
	}{
		"sorted by name, never active shows -": {
			users: []iamv1.StudioUser{fresh, ana, alex},
			want: Table{
				Header: []string{"NAME", "EMAIL", "TYPE", "STATE", "ENVIRONMENTS", "LAST ACTIVE", "CREATED", "INVITATION"},
				Rows: [][]string{
					{"alex", "alex@example.com", "Agent", "Invited", "1", "-", "10m", "Pending"},
					{"ana", "ana@example.com", "User", "Active", "2", "90m", "3d", "Accepted"},
					{"zoe", "zoe@example.com", "User", "", "0", "-", "-", "-"},
				},
			},
		},
		"wide lists the environments": {
			users: []iamv1.StudioUser{ana, fresh},
			wide:  true,
			want: Table{
				Header: []string{"NAME", "EMAIL", "TYPE", "STATE", "ENVIRONMENTS", "LAST ACTIVE", "CREATED", "INVITATION", "ENVIRONMENT LIST"},
				Rows: [][]string{
					{"ana", "ana@example.com", "User", "Active", "2", "90m", "3d", "Accepted", "team-support/webchat,team-support/whatsapp"},
					{"zoe", "zoe@example.com", "User", "", "0", "-", "-", "-", "-"},
				},
			},
		},
		"count without access list": {
			users: []iamv1.StudioUser{counted},
			want: Table{
				Header: []string{"NAME", "EMAIL", "TYPE", "STATE", "ENVIRONMENTS", "LAST ACTIVE", "CREATED", "INVITATION"},
				Rows:   [][]string{{"cas", "cas@example.com", "User", "Active", "3", "-", "-", "-"}},
			},
		},
		"no users": {
			want: Table{Header: []string{"NAME", "EMAIL", "TYPE", "STATE", "ENVIRONMENTS", "LAST ACTIVE", "CREATED", "INVITATION"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, UsersTable(tc.users, now, tc.wide)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteTableAlignsAndKeepsCellsInTheirColumn(t *testing.T) {
	var b bytes.Buffer
	err := WriteTable(&b, Table{
		Header: []string{"NAME", "DETAILS", "STATE"},
		Rows:   [][]string{{"a", "two\twords\nand a line", ""}, {"longer-name", "x", "Active"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME          DETAILS                STATE\n" +
		"a             two words and a line   -\n" +
		"longer-name   x                      Active\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
