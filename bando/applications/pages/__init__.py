"""The pages of applications, by audience: the applicant's and the officer's."""
