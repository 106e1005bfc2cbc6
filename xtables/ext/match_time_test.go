package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchTime(t *testing.T) {
	checkTokens(t, Match, "time", 0, []tokenCase{
		{IPv4, 0, []string{"--timestart", "01:00"}, "00000000ffffff7f100e00007f510100fefffffffe000000", " --timestart 01:00:00 --timestop 23:59:59 --datestop 2038-01-19T03:14:07"},
		{IPv4, 0, []string{"--timestart", "01:02:03", "--timestop", "04:05:06", "--monthdays", "1,2,3,4,5", "--weekdays", "Mon,Fri,Sun", "--datestart", "2001-02-03T04:05:06", "--datestop", "2012-09-08T09:06:05", "--kerneltz"}, "72837b3a7d0a4b508b0e0000723900003e000000a2010000", " --timestart 01:02:03 --timestop 04:05:06 --monthdays 1,2,3,4,5 --weekdays Mon,Fri,Sun --datestart 2001-02-03T04:05:06 --datestop 2012-09-08T09:06:05 --kerneltz"},
		{IPv4, 0, []string{"--datestart", "2000-00"}, "00654438ffffff7f000000007f510100fefffffffe000000", " --datestart 1999-12-01T00:00:00 --datestop 2038-01-19T03:14:07"},
		{IPv4, 0, []string{"--datestart", "2000-"}, "00654438ffffff7f000000007f510100fefffffffe000000", " --datestart 1999-12-01T00:00:00 --datestop 2038-01-19T03:14:07"},
		{IPv4, 0, []string{"--datestart", "2038-12-31T23:59:59"}, "ff4ac981ffffff7f000000007f510100fefffffffe000000", " --datestart 2038-12-31T23:59:59 --datestop 2038-01-19T03:14:07"},
		{IPv4, 0, []string{"--datestart", "1970-01-01"}, "00000000ffffff7f000000007f510100fefffffffe000000", " --datestop 2038-01-19T03:14:07"},
		{IPv4, 0, []string{"--datestop", "1970-01-01T00:00:01"}, "0000000001000000000000007f510100fefffffffe000000", " --datestop 1970-01-01T00:00:01"},
		{IPv4, 0, []string{"--monthdays", "0"}, "00000000ffffff7f000000007f51010001000000fe000000", " --monthdays  --datestop 2038-01-19T03:14:07"},
		{IPv4, 0, []string{"--monthdays", "1,,2"}, "00000000ffffff7f000000007f51010007000000fe000000", " --monthdays 1,2 --datestop 2038-01-19T03:14:07"},
		{IPv4, 0, []string{"--monthdays", "123"}, "00000000ffffff7f000000007f51010000100000fe000000", " --monthdays 12 --datestop 2038-01-19T03:14:07"},
		{IPv4, 0, []string{"--weekdays", "Mox,Tu,7", "--utc"}, "00000000ffffff7f000000007f510100feffffff86000000", " --weekdays Mon,Tue,Sun --datestop 2038-01-19T03:14:07"},
		{IPv4, 0, []string{"!", "--weekdays", "1", "!", "--monthdays", "31", "--localtz"}, "00000000ffffff7f000000007f510100feffff7ffc010000", " --monthdays 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30 --weekdays Tue,Wed,Thu,Fri,Sat,Sun --datestop 2038-01-19T03:14:07 --kerneltz"},
		{IPv4, 0, []string{"--timestart", "23:00", "--timestop", "01:00", "--contiguous"}, "00000000ffffff7f70430100100e0000fefffffffe020000", " --timestart 23:00:00 --timestop 01:00:00 --datestop 2038-01-19T03:14:07 --contiguous"},
		{IPv4, 0, []string{"--timestart", ":30", "--timestop", "1:2:3"}, "00000000ffffff7f080700008b0e0000fefffffffe000000", " --timestart 00:30:00 --timestop 01:02:03 --datestop 2038-01-19T03:14:07"},
		{IPv4, 0, []string{"--localtz", "--kerneltz"}, "00000000ffffff7f000000007f510100fefffffffe010000", " --datestop 2038-01-19T03:14:07 --kerneltz"},
		{IPv4, 0, []string(nil), "00000000ffffff7f000000007f510100fefffffffe000000", " --datestop 2038-01-19T03:14:07"},
		{IPv6, 0, []string{"--weekdays", "Sa,Su", "--timestart", "8:00", "--timestop", "18:00"}, "00000000ffffff7f8070000020fd0000feffffffc0000000", " --timestart 08:00:00 --timestop 18:00:00 --weekdays Sat,Sun --datestop 2038-01-19T03:14:07"},
	})
	checkTokenErrors(t, Match, "time", 0, []badTokens{
		{IPv4, []string{"--datestart", "2024-02-30T25:00"}},
		{IPv4, []string{"--datestart", "1969"}},
		{IPv4, []string{"--datestart", "2039"}},
		{IPv4, []string{"--monthdays", "32"}},
		{IPv4, []string{"--monthdays", "0x1f,010"}},
		{IPv4, []string{"--weekdays", "Monday,thu"}},
		{IPv4, []string{"--weekdays", "0"}},
		{IPv4, []string{"--timestart", "01:00", "--timestop", "23:00", "--contiguous"}},
		{IPv4, []string{"--timestart", "24:00"}},
		{IPv4, []string{"--timestart", "10"}},
		{IPv4, []string{"--utc", "--kerneltz"}},
		{IPv4, []string{"--contiguous"}},
	})
}
