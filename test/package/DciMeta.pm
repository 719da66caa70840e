# test/package/DciMeta.pm - shared by check-meta and sync-version: reads
# dci.control (the one place the version is set), META.json and
# debian/changelog.
package DciMeta;
use strict;
use warnings;
use JSON::PP;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

our $root = abs_path(dirname(__FILE__) . '/../..');

sub slurp { my ($f) = @_; open(my $h, '<', "$root/$f") or die "$f: $!\n"; local $/; <$h> }

# name, default_version and comment of the extension
sub control {
    my $text = slurp('dci.control');
    my %c = (name => 'dci');
    for my $k (qw(default_version comment)) {
        $text =~ /^\s*$k\s*=\s*'((?:[^']|'')*)'/m or die "dci.control: no $k\n";
        ($c{$k} = $1) =~ s/''/'/g;
    }
    return \%c;
}

sub json { JSON::PP->new->utf8->canonical->pretty->indent_length(2)->space_before(0) }
sub read_meta { json()->decode(slurp('META.json')) }

# upstream version and whole first line of the newest debian/changelog entry
sub changelog_version {
    my ($first) = split /\n/, slurp('debian/changelog');
    $first =~ /^\S+ \((?:\d+:)?(.+?)(?:-[^-]+)?\)/ or die "debian/changelog: cannot read '$first'\n";
    return ($1, $first);
}

1;
