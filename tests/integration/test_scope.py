"""The one scoping mechanism: for_user / get_for_user over regions and users."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from eldercare.accounts.models import User
from eldercare.accounts.scope import SYSTEM, for_user, get_for_user
from eldercare.regions.models import Region

pytestmark = pytest.mark.django_db


def codes_of(qs):
    return sorted(r.code for r in qs)


def test_township_user_sees_only_their_township(make_user):
    t = make_user("t1", "township", "370306001000")
    assert codes_of(Region.objects.for_user(t)) == ["370306001000", "370306001001", "370306001002"]


def test_county_user_sees_county_and_below_not_the_neighbour(make_user):
    h = make_user("h1", "health", "370306000000")
    seen = codes_of(Region.objects.for_user(h))
    assert "370306100202" in seen and "370306000000" in seen
    assert not any(c.startswith("370307") for c in seen)
    assert "370300000000" not in seen  # not upwards either


def test_city_user_sees_both_counties(make_user):
    h = make_user("city", "health", "370300000000")
    assert {"370306001000", "370307001000"} <= set(codes_of(Region.objects.for_user(h)))


def test_fail_closed(make_user):
    no_region = make_user("nr", "health")
    User.objects.filter(pk=no_region.pk).update(region=None)
    no_region.refresh_from_db()
    inactive = make_user("inactive", "health")
    inactive.is_active = False
    for actor in (None, AnonymousUser(), no_region, inactive):
        assert not Region.objects.for_user(actor).exists()


def test_system_actor_sees_everything(regions):
    assert Region.objects.for_user(SYSTEM).count() == len(regions)


def test_users_scoped_by_their_region(make_user):
    t1 = make_user("t1", "township", "370306001000")
    make_user("t2", "township", "370306100000")
    county = make_user("c1", "civil", "370306000000")
    assert {u.username for u in User.objects.for_user(t1)} == {"t1"}
    assert {"t1", "t2", "c1"} <= {u.username for u in User.objects.for_user(county)}


def test_get_for_user_404_for_missing_and_out_of_scope_alike(make_user):
    t1 = make_user("t1", "township", "370306001000")
    other = make_user("t2", "township", "370306100000")
    assert get_for_user(Region, t1, code="370306001001").name == "银子社区"
    with pytest.raises(Http404):
        get_for_user(Region, t1, code="370306100201")
    with pytest.raises(Http404):
        get_for_user(Region, t1, code="999999999999")
    with pytest.raises(Http404):
        get_for_user(User, t1, pk=other.pk)


def test_region_switcher_narrowing_stays_inside_scope(make_user):
    h = make_user("h1", "health", "370306000000")
    assert codes_of(for_user(Region, h, region="370306100000"))[0] == "370306100000"
    # A region outside the scope narrows to nothing rather than widening.
    assert not for_user(Region, h, region="370307000000").exists()


def test_scope_filter_is_a_prefix_on_the_local_column(make_user):
    t = make_user("t1", "township", "370306001000")
    sql = str(User.objects.for_user(t).query).upper()
    assert "LIKE" in sql and " JOIN " not in sql  # the region code is the FK column itself
