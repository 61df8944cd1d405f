package mail

// Internals that the black-box tests (package mail_test) check against.
const MaxSubjectRunes = maxSubjectRunes
